#!/usr/bin/env bash
# Install, upgrade or remove Floorlink on a Debian / Raspberry Pi OS box.
#   sudo make install                  (or: sudo systemd/install.sh)
#   sudo systemd/install.sh --wheelhouse DIR   no package index: wheels from `make wheelhouse`
#   sudo make uninstall                (or: sudo systemd/install.sh --uninstall): keeps config and data
#
# Each install builds the new version beside the running one, in $PREFIX/versions/<version>, and
# switches the `current` link to it only when it is complete and `floorlink check-config` passes
# with it. If it then does not start, the previous version is switched back and restarted. Until
# the switch nothing the running daemon uses is touched: a failed download leaves it as it was.
# `sudo floorlink rollback` returns to the previous version later.
#
# ROOT=/some/dir puts everything under that folder and leaves the system alone (no apt, no users,
# no ownership, no systemctl): the tests install and upgrade that way. FLOORLINK_RESTART_CMD
# replaces `systemctl restart floorlink.service` as the start check.
set -euo pipefail

ROOT=${ROOT:-}
PREFIX=${PREFIX:-$ROOT/opt/floorlink}
ETC=${ETC:-$ROOT/etc/floorlink}
STATE=${STATE:-$ROOT/var/lib/floorlink}
UNIT_DIR=${UNIT_DIR:-$ROOT/etc/systemd/system}
MOSQ_DIR=${MOSQ_DIR:-$ROOT/etc/mosquitto}
BIN_LINK=${BIN_LINK:-$ROOT/usr/local/bin/floorlink}
PYTHON=${PYTHON:-python3}
SRC=$(cd "$(dirname "$0")/.." && pwd)
WHEELHOUSE=""
export PREFIX

say() { printf '\033[1m==>\033[0m %s\n' "$*"; }
die() { printf 'install: %s\n' "$*" >&2; exit 1; }
usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
system() { [ -z "$ROOT" ]; }                        # false in a test install under $ROOT
systemd_running() { system && [ -d /run/systemd/system ]; }

action=install
while [ $# -gt 0 ]; do
    case "$1" in
        --uninstall) action=uninstall ;;
        --wheelhouse) [ $# -ge 2 ] || die "--wheelhouse needs a folder"; WHEELHOUSE=$(cd "$2" && pwd); shift ;;
        --wheelhouse=*) WHEELHOUSE=$(cd "${1#*=}" && pwd) ;;
        -h|--help) usage 0 ;;
        *) printf 'install: unknown option %s\n' "$1" >&2; usage 2 ;;
    esac
    shift
done

if system && [ "$(id -u)" != 0 ]; then die "run as root: sudo make install"; fi

if [ "$action" = uninstall ]; then
    say "stopping and removing Floorlink (config in $ETC and data in $STATE are kept)"
    if systemd_running; then
        systemctl disable --now floorlink.service floorlink-backup.timer 2>/dev/null || true
    fi
    rm -f "$UNIT_DIR"/floorlink.service "$UNIT_DIR"/floorlink-backup.service \
        "$UNIT_DIR"/floorlink-backup.timer "$UNIT_DIR"/floorlink-rollback.service "$BIN_LINK"
    rm -rf "$PREFIX"
    if systemd_running; then systemctl daemon-reload; fi
    say "removed. To remove everything: rm -rf $ETC $STATE $MOSQ_DIR/conf.d/floorlink.conf"
    exit 0
fi

if system; then
    say "system packages"
    need=()
    command -v mosquitto >/dev/null || need+=(mosquitto mosquitto-clients)
    "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
    if [ ${#need[@]} -gt 0 ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
    fi
fi
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "Python 3.11 or newer is needed"

if system; then
    say "user floorlink (in dialout, for the pager's serial port)"
    if ! id floorlink >/dev/null 2>&1; then
        useradd --system --home-dir "$STATE" --no-create-home --shell /usr/sbin/nologin floorlink
    fi
    usermod -a -G dialout floorlink
fi

# ---- the program: a new version beside the running one ----------------------------------

pip_opts=(-q --disable-pip-version-check)
wheel=""
if [ -n "$WHEELHOUSE" ]; then
    pip_opts+=(--no-index --find-links "$WHEELHOUSE")
    wheel=$(ls "$WHEELHOUSE"/floorlink-*.whl 2>/dev/null | sort -V | tail -n 1 || true)
    [ -n "$wheel" ] || die "$WHEELHOUSE has no floorlink-*.whl: make it with 'make wheelhouse'"
    version=$(basename "$wheel" | cut -d- -f2)
else
    version=$("$PYTHON" -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["project"]["version"])' "$SRC/pyproject.toml")
fi

mkdir -p "$PREFIX/versions"
current=$(readlink "$PREFIX/current" 2>/dev/null || true)       # versions/<name>, or empty
previous=$(readlink "$PREFIX/previous" 2>/dev/null || true)
# A build that never completed (power cut, full disk) is not kept.
for dir in "$PREFIX"/versions/*; do
    [ -d "$dir" ] || continue
    rel="versions/$(basename "$dir")"
    if [ ! -e "$dir/.complete" ] && [ "$rel" != "$current" ] && [ "$rel" != "$previous" ]; then
        rm -rf "$dir"
    fi
done
name=$version
n=1
while [ -e "$PREFIX/versions/$name" ]; do n=$((n + 1)); name="$version-$n"; done
new="$PREFIX/versions/$name"

failed_build() {
    rm -rf "$new"
    printf 'install: %s was not installed; ' "$version" >&2
    if [ -n "$current" ]; then
        printf 'the running version (%s) is unchanged.\n' "${current#versions/}" >&2
    else
        printf 'nothing was changed.\n' >&2
    fi
    exit 1
}

say "Floorlink $version in $new (the running version stays until it is complete)"
trap failed_build ERR
"$PYTHON" -m venv "$new"
if [ -n "$WHEELHOUSE" ]; then
    "$new/bin/pip" install "${pip_opts[@]}" -r "$SRC/requirements.lock" 2>&1 \
        || { echo "install: the wheelhouse lacks a pinned package (made for another machine?)" >&2; false; }
    "$new/bin/pip" install "${pip_opts[@]}" --no-deps "$wheel"
else
    "$new/bin/pip" install "${pip_opts[@]}" -r "$SRC/requirements.lock" \
        || { echo "install: pip could not fetch the pinned packages (no route to the package index? use --wheelhouse)" >&2; false; }
    "$new/bin/pip" install "${pip_opts[@]}" --no-deps "$SRC"
fi
mkdir -p "$new/share"
cp -r "$SRC/docs" "$new/share/docs"
trap - ERR

# ---- config and data --------------------------------------------------------------------

say "config in $ETC"
# 0770 root:floorlink: the setup page (daemon/setup_mode.py) writes the config and its backup here.
if system; then install -d -m 0770 -o root -g floorlink "$ETC"; else mkdir -p "$ETC"; fi
# The broker's password file lives in a folder of its own that the daemon may write (mosquitto_passwd
# writes a temporary file beside it), so terminals can be added from the host stand; the old path
# stays as a link to it.
PASSWD_DIR="$MOSQ_DIR/floorlink"
PASSWD_FILE="$PASSWD_DIR/floorlink.passwd"
if [ ! -e "$ETC/floorlink.toml" ]; then
    # A fresh box gets a seed: the broker's credentials, the staff token and the store, and nothing
    # a restaurant chooses. `floorlink run` serves the setup page until the page has written the
    # rest (site, staff PIN, tables, pager). There is no default PIN.
    token=$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(24))')
    daemon_pw=$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(18))')
    cat > "$ETC/floorlink.toml" <<SEED
# Floorlink on this box, written by systemd/install.sh. Not set up yet: open
# http://$(hostname):8080/ to name the site and choose its time zone, staff PIN, tables and pager.
# The setup page keeps what is below and writes the rest (docs/install.md, docs/config.md).

[store]
path = "$STATE/floorlink.db"

[mqtt]
url = "mqtt://floorlink:$daemon_pw@127.0.0.1:1883"
passwd_file = "$PASSWD_FILE"   # POS terminals are added from the host stand's Devices panel

[http]
listen = "0.0.0.0:8080"
staff_token = "$token"
SEED
    if system; then chown root:floorlink "$ETC/floorlink.toml"; fi
    chmod 0640 "$ETC/floorlink.toml"
    new_daemon_pw=$daemon_pw
    say "wrote $ETC/floorlink.toml with a new staff token and broker password (no PIN yet)"
    say "once it runs, set the box up in the page: http://$(hostname):8080/"
else
    say "kept the existing $ETC/floorlink.toml"
fi
if system; then install -d -m 0750 -o floorlink -g floorlink "$STATE"; else mkdir -p "$STATE"; fi

say "checking $name against $ETC/floorlink.toml"
"$new/bin/floorlink" --version >/dev/null || failed_build
if ! "$new/bin/floorlink" check-config --config "$ETC/floorlink.toml"; then
    echo "install: $name does not accept $ETC/floorlink.toml (above); fix it and install again" >&2
    failed_build
fi
touch "$new/.complete"

# ---- switch -----------------------------------------------------------------------------

as_daemon_user() { if system; then runuser -u floorlink -- "$@"; else "$@"; fi; }
if [ -n "$current" ]; then
    say "a backup of the store before the switch (in $STATE/backups)"
    as_daemon_user "$new/bin/floorlink" backup --config "$ETC/floorlink.toml" --keep 30 \
        || say "no backup taken (see above); carrying on"
fi

# `mv -T` renames a new link over the old one: the switch is one rename, never a missing link.
point() { ln -sfn "$2" "$PREFIX/.$1.new" && mv -Tf "$PREFIX/.$1.new" "$PREFIX/$1"; }
switch() {   # switch CURRENT PREVIOUS
    point current "$1"
    if [ -n "$2" ]; then point previous "$2"; else rm -f "$PREFIX/previous"; fi
}
switch "versions/$name" "$current"
mkdir -p "$(dirname "$BIN_LINK")"
ln -sfn "$PREFIX/current/bin/floorlink" "$BIN_LINK"

# ---- broker and systemd -----------------------------------------------------------------

if system; then
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
    # root:mosquitto as Mosquitto wants its files; group-writable for the daemon, in that group.
    usermod -a -G mosquitto floorlink
    install -d -m 0770 -o root -g mosquitto "$PASSWD_DIR"
    old_passwd="$MOSQ_DIR/floorlink.passwd"
    if [ -f "$old_passwd" ] && [ ! -L "$old_passwd" ] && [ ! -e "$PASSWD_FILE" ]; then
        mv "$old_passwd" "$PASSWD_FILE"   # an install from before the folder: its terminals kept
    fi
    touch "$PASSWD_FILE"
    chown root:mosquitto "$PASSWD_FILE"
    chmod 0660 "$PASSWD_FILE"
    ln -sfn floorlink/floorlink.passwd "$old_passwd"
    if [ -n "${new_daemon_pw:-}" ]; then
        mosquitto_passwd -b "$PASSWD_FILE" floorlink "$new_daemon_pw"
    fi
fi

say "systemd units (the daemon, the nightly backup timer, the rollback on failed starts)"
mkdir -p "$UNIT_DIR"
for unit in floorlink.service floorlink-backup.service floorlink-backup.timer \
    floorlink-rollback.service; do
    install -m 0644 "$SRC/systemd/$unit" "$UNIT_DIR/$unit"
done

restart() {
    if [ -n "${FLOORLINK_RESTART_CMD:-}" ]; then
        bash -c "$FLOORLINK_RESTART_CMD"
    elif systemd_running; then
        systemctl restart floorlink.service
    fi
}
if systemd_running; then
    systemctl daemon-reload
    systemctl enable mosquitto.service floorlink.service floorlink-backup.timer
    systemctl restart mosquitto.service
    systemctl start floorlink-backup.timer
elif system; then
    systemctl enable mosquitto.service floorlink.service floorlink-backup.timer 2>/dev/null || true
    say "systemd is not running here: the services start at the next boot"
fi
say "starting $name"
if ! restart; then
    if [ -z "$current" ]; then
        die "$name did not start: see journalctl -u floorlink -e, fix it, and run the install again"
    fi
    say "$name did not start: switching back to ${current#versions/}"
    switch "$current" "$previous"
    rm -rf "$new"
    restart || die "the previous version ${current#versions/} did not start either: journalctl -u floorlink -e"
    die "$name did not start (journalctl -u floorlink -e); ${current#versions/} runs again"
fi
# Kept: the new version and the one before it (for `floorlink rollback`). The flat venv of
# installs from before versions/ existed goes too.
for dir in "$PREFIX"/versions/*; do
    rel="versions/$(basename "$dir")"
    if [ "$rel" != "versions/$name" ] && [ "$rel" != "$current" ]; then rm -rf "$dir"; fi
done
if [ -e "$PREFIX/pyvenv.cfg" ]; then
    rm -rf "$PREFIX/bin" "$PREFIX/lib" "$PREFIX/lib64" "$PREFIX/include" "$PREFIX/share" \
        "$PREFIX/pyvenv.cfg"
fi
if systemd_running; then say "running: systemctl status floorlink; journalctl -u floorlink -f"; fi
say "done: $("$PREFIX/current/bin/floorlink" --version). Check the box: floorlink doctor"
