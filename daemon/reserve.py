"""Disk space held in reserve beside the store, released when the disk fills.

A full SD card is the one failure an SQLite box cannot write its way out of: it cannot even log
that it is full. So the box keeps a pre-allocated file next to the database. When a commit fails
for lack of space, the file is deleted at once, which gives the daemon room for its alarm, its
dead letters and the WAL's checkpoint. It is made again only when the disk has room for it twice
over, and that is how the daemon knows that space has returned (releasing the reserve alone must
not count as space returning, or the box would flap between full and not).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from pathlib import Path

DEFAULT_BYTES = 8 * 1024 * 1024
MIN_FREE_BYTES = 1024 * 1024


class SpaceReserve:
    def __init__(self, path: Path | str, size: int = DEFAULT_BYTES) -> None:
        self.path = Path(path)
        self.size = size

    @property
    def held(self) -> bool:
        try:
            return self.path.stat().st_size >= self.size
        except OSError:
            return False

    def room(self) -> bool:
        """Is there room for the reserve and as much again (at least 1 MiB) besides?"""
        held = self.size if self.held else 0
        try:
            free = shutil.disk_usage(self.path.parent).free
        except OSError:
            return False
        return free + held >= 2 * self.size + (0 if self.size else MIN_FREE_BYTES)

    def ensure(self) -> bool:
        """Hold the whole reserve, if `room()`; False (holding nothing) when the disk is short."""
        if self.held:
            return True
        if not self.room():
            return False
        if self.size <= 0:
            return True
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600)
        except OSError:
            return False
        try:
            try:
                os.posix_fallocate(fd, 0, self.size)
            except OSError as exc:
                if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
                    raise
                os.ftruncate(fd, self.size)  # no fallocate here: write it out instead
                os.pwrite(fd, b"\0" * self.size, 0)
            os.fsync(fd)
        except OSError:
            os.close(fd)
            self.release()
            return False
        os.close(fd)
        return True

    def release(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
