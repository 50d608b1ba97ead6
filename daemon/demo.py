"""`make demo`: Floorlink with a simulated restaurant on this machine.

A private Mosquitto on a free loopback port, the daemon (`floorlink run`, as systemd would run it),
a pager transmitter simulated on a pty that prints every page it decodes, and a dinner service
played by three POS terminals plus walk-ins joining the waitlist. Ctrl-C stops everything.

It runs in real time: the daemon, the page, the quotes, LATE and the re-page timers all read the
box's one real clock, so they agree. (Compressing time would need every one of them, the
browser's clock included, to follow a scaled clock, and a setting that scales the clock is one
nobody should be able to switch on in production.) To be worth watching at once, the service
opens mid-evening from events stamped with their real past times: see daemon/simulator.py.
Needs only the runtime dependencies (`make demo` builds `.venv-demo` from requirements.lock).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from floorlink.daemon.broker import EmbeddedBroker, free_port
from floorlink.daemon.config import load_config
from floorlink.daemon.simulator import REAL_TIME, Simulator
from floorlink.drivers.pagers import Page
from floorlink.drivers.pty_transmitter import PtyTransmitter

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "config" / "floorlink.example.toml"
TOKEN = "demo-staff-token"
#: A fresh PIN each run, printed at start: there is no default PIN anywhere.
PIN = f"{secrets.randbelow(10**6):06d}"


def demo_config(workdir: Path, mqtt_port: int, http_port: int, pager: Path) -> Path:
    example = load_config(EXAMPLE, {"FLOORLINK_STAFF_TOKEN": TOKEN})
    tables = "\n".join(
        f'[[tables]]\nid = "{t.id}"\nseats = {t.seats}\nsection = "{t.section}"\n'
        f'x = {t.x}\ny = {t.y}\nshape = "{t.shape}"\n'
        + (f"combine_with = {list(t.combine_with)!r}\n".replace("'", '"') if t.combine_with else "")
        for t in example.tables
    )
    path = workdir / "floorlink.toml"
    path.write_text(
        f"""[site]
id = "trattoria-luna"
timezone = "{example.site.timezone}"
name = "Trattoria Luna (demo)"

[store]
path = "{workdir / "floorlink.db"}"

[mqtt]
url = "mqtt://127.0.0.1:{mqtt_port}"

[http]
listen = "0.0.0.0:{http_port}"
staff_token = "{TOKEN}"
staff_pin = "{PIN}"

[pager]
port = "{pager}"
protocol = "lrs"

[paging]
repage_after_minutes = 2
max_pages = 3
combine_tables = true

[log]
format = "json"

{tables}"""
    )
    return path


def pick_http_port() -> int:
    with socket.socket() as s:
        try:
            s.bind(("0.0.0.0", 8080))
        except OSError:
            return free_port()
    return 8080


def start_daemon(config: Path, log: Path) -> subprocess.Popen[bytes]:
    """`floorlink run` as a child process, as systemd runs it."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "floorlink.daemon.cli", "run", "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"the daemon exited ({proc.returncode}); its log:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/healthz", timeout=1) as r:
            if r.status == 200:
                return
        time.sleep(0.1)
    sys.exit(f"the daemon did not become healthy; its log:\n{log.read_text()[-3000:]}")


async def main(duration: float | None) -> None:
    workdir = ROOT / "build" / "demo"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    broker = EmbeddedBroker(workdir / "mosquitto")
    broker.start()
    pager_path = workdir / "pager"

    def show(page: Page) -> None:
        print(f"  \N{BELL} pager {page.pager:>4} buzzes (alert {page.alert})", flush=True)

    tx = PtyTransmitter(pager_path, on_page=show)
    tx.plug()
    http_port = pick_http_port()
    config = demo_config(workdir, broker.port, http_port, pager_path)
    log = workdir / "daemon.log"
    proc = start_daemon(config, log)
    url = f"http://127.0.0.1:{http_port}"
    try:
        wait_healthy(url, proc, log)
        print(
            f"""
Floorlink demo: Trattoria Luna, 25 tables, a simulated dinner service in real time,
opened mid-evening (tables seated up to 100 minutes ago; watch them go LATE and turn over)
  host stand   {url}/   (staff PIN {PIN}; on the LAN: http://{socket.gethostname()}:{http_port}/)
  API          {url}/api/v1/tables   (Authorization: Bearer {TOKEN})
  MQTT         mosquitto_sub -p {broker.port} -t 'floorlink/v1/#' -v
  metrics      {url}/metrics
  daemon log   {log}
  config       {config}
Pages appear below as the simulated transmitter decodes them. Ctrl-C stops everything.
""",
            flush=True,
        )
        sim = Simulator(
            broker.port,
            {t.id: t.seats for t in load_config(config).tables},
            api=url,
            token=TOKEN,
            minute_s=REAL_TIME,
        )
        await sim.run(duration)
    finally:
        proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
        if proc.poll() is None:
            proc.kill()
        tx.close()
        broker.stop()
        print("demo stopped", flush=True)


def run() -> None:
    parser = argparse.ArgumentParser(prog="floorlink demo", description=__doc__)
    parser.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    args = parser.parse_args()
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(args.duration))


if __name__ == "__main__":
    run()
