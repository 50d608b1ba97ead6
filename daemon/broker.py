"""A private Mosquitto for the demo, the tests and the benchmark.

It runs the distribution's own `mosquitto` binary on a loopback port with a config written here,
so what we test against is the broker a restaurant runs. Persistence is on, so a persistent
session and its queued QoS 1 messages survive a stop and start, as they do on the box.
"""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import time
from pathlib import Path

STARTUP_TIMEOUT_S = 10.0


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class EmbeddedBroker:
    """Start, stop and restart one Mosquitto on 127.0.0.1, keeping its port and its data."""

    def __init__(
        self,
        workdir: Path,
        port: int | None = None,
        extra_conf: str = "",
        auth: tuple[Path, Path] | None = None,
    ) -> None:
        """`auth` = (password file, ACL file): anonymous access off, as on the box."""
        self.workdir = workdir
        self.port = port or free_port()
        self.extra_conf = extra_conf
        self.auth = auth
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def _write_conf(self) -> Path:
        self.workdir.mkdir(parents=True, exist_ok=True)
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            + (
                f"allow_anonymous false\npassword_file {self.auth[0]}\nacl_file {self.auth[1]}\n"
                if self.auth
                else "allow_anonymous true\n"
            )
            +
            # Small publishes stall on 40 ms delayed ACKs without this (Nagle).
            "set_tcp_nodelay true\n"
            "persistence true\n"
            f"persistence_location {self.workdir}/\n"
            "max_queued_messages 100000\n"
            "max_inflight_messages 100\n"
            # As root Mosquitto would drop to user `mosquitto`, who cannot write our workdir.
            f"user {getpass.getuser()}\n"
            f"log_dest file {self.workdir}/mosquitto.log\n"
            "log_type error\nlog_type warning\nlog_type notice\n" + self.extra_conf
        )
        return conf

    def start(self) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(binary).exists():
            raise RuntimeError("mosquitto is missing: run `make test` or apt install mosquitto")
        conf = self._write_conf()
        self._proc = subprocess.Popen(
            [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode() if self._proc.stderr else ""
                raise RuntimeError(f"mosquitto exited at start: {err.strip()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"mosquitto did not listen on port {self.port}")

    def stop(self) -> None:
        """SIGTERM: Mosquitto saves its persistence file and exits."""
        if self._proc is None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None
