#!/usr/bin/env bash
# Install, upgrade or remove Floorlink on a Debian / Raspberry Pi OS box.
#   sudo make install      (or: sudo systemd/install.sh)
#   sudo make uninstall    (or: sudo systemd/install.sh --uninstall): keeps config and data
# Re-running the install upgrades in place: the venv is rebuilt, config and data are kept.
set -euo pipefail

PREFIX=${PREFIX:-/opt/floorlink}
ETC=${ETC:-/etc/floorlink}
STATE=${STATE:-/var/lib/floorlink}
UNIT_DIR=${UNIT_DIR:-/etc/systemd/system}
MOSQ_DIR=${MOSQ_DIR:-/etc/mosquitto}
SRC=$(cd "$(dirname "$0")/.." && pwd)

say() { printf '\033[1m==>\033[0m %s\n' "$*"; }
die() { printf 'install: %s\n' "$*" >&2; exit 1; }
systemd_running() { [ -d /run/systemd/system ]; }

[ "$(id -u)" = 0 ] || die "run as root: sudo make install"

if [ "${1:-}" = "--uninstall" ]; then
    say "stopping and removing Floorlink (config in $ETC and data in $STATE are kept)"
    if systemd_running; then systemctl disable --now floorlink.service 2>/dev/null || true; fi
    rm -f "$UNIT_DIR/floorlink.service" /usr/local/bin/floorlink
    rm -rf "$PREFIX"
    if systemd_running; then systemctl daemon-reload; fi
    say "removed. To remove everything: rm -rf $ETC $STATE $MOSQ_DIR/conf.d/floorlink.conf"
    exit 0
fi

say "system packages"
need=()
command -v mosquitto >/dev/null || need+=(mosquitto mosquitto-clients)
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "Python 3.11 or newer is needed"

say "user floorlink (in dialout, for the pager's serial port)"
if ! id floorlink >/dev/null 2>&1; then
    useradd --system --home-dir "$STATE" --no-create-home --shell /usr/sbin/nologin floorlink
fi
usermod -a -G dialout floorlink

say "program in $PREFIX"
python3 -m venv --clear "$PREFIX"
"$PREFIX/bin/pip" install -q --disable-pip-version-check -r "$SRC/requirements.lock"
"$PREFIX/bin/pip" install -q --disable-pip-version-check --no-deps "$SRC"
mkdir -p "$PREFIX/share"
rm -rf "$PREFIX/share/docs" && cp -r "$SRC/docs" "$PREFIX/share/docs"
ln -sf "$PREFIX/bin/floorlink" /usr/local/bin/floorlink

say "config in $ETC"
install -d -m 0750 -o root -g floorlink "$ETC"
if [ ! -e "$ETC/floorlink.toml" ]; then
    token=$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')
    daemon_pw=$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')
    sed -e "s|change-this-staff-token|$token|" \
        -e "s|mqtt://floorlink:change-me@|mqtt://floorlink:$daemon_pw@|" \
        "$SRC/config/floorlink.example.toml" > "$ETC/floorlink.toml"
    chown root:floorlink "$ETC/floorlink.toml"
    chmod 0640 "$ETC/floorlink.toml"
    new_daemon_pw=$daemon_pw
    say "wrote $ETC/floorlink.toml: edit the tables, the pager port and the PIN, then"
    say "  floorlink check-config --config $ETC/floorlink.toml"
else
    say "kept the existing $ETC/floorlink.toml"
fi
install -d -m 0750 -o floorlink -g floorlink "$STATE"

say "Mosquitto with Floorlink's config"
install -m 0644 "$SRC/config/mosquitto/floorlink.conf" "$MOSQ_DIR/conf.d/floorlink.conf"
# The ACL has no per-site lines (terminals come from its %u patterns), so upgrades refresh it;
# a hand-edited copy is kept beside it.
acl="$MOSQ_DIR/floorlink.acl"
if [ -e "$acl" ] && ! cmp -s "$SRC/config/mosquitto/floorlink.acl" "$acl"; then
    cp -p "$acl" "$acl.old"
    say "replaced $acl (your previous copy is $acl.old)"
fi
install -m 0640 -o root -g mosquitto "$SRC/config/mosquitto/floorlink.acl" "$acl"
touch "$MOSQ_DIR/floorlink.passwd"
chown root:mosquitto "$MOSQ_DIR/floorlink.passwd"
chmod 0640 "$MOSQ_DIR/floorlink.passwd"
if [ -n "${new_daemon_pw:-}" ]; then
    mosquitto_passwd -b "$MOSQ_DIR/floorlink.passwd" floorlink "$new_daemon_pw"
fi

say "systemd unit"
install -m 0644 "$SRC/systemd/floorlink.service" "$UNIT_DIR/floorlink.service"
if systemd_running; then
    systemctl daemon-reload
    systemctl enable mosquitto.service floorlink.service
    systemctl restart mosquitto.service
    systemctl restart floorlink.service
    say "running: systemctl status floorlink; journalctl -u floorlink -f"
else
    systemctl enable mosquitto.service floorlink.service 2>/dev/null || true
    say "systemd is not running here: the services start at the next boot"
fi
say "done. Check the box with: floorlink doctor --config $ETC/floorlink.toml"
