"""Which embedded run is processing a file: one lock file per file (``<archive>/claims/<sha256>``).

A file the index says is queued or processing is resumed by a run only when no other live run holds
its claim (the lock dies with its process, so a run stopped by ``kill -9`` leaves nothing behind that
blocks the next one). The locks are ``flock`` locks: they hold between processes of one machine,
which is the embedded driver's scope.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class FileClaims:
    """This process's claims on files, by sha256."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._held: dict[str, int] = {}

    def claim(self, sha256: str) -> bool:
        """Take the file's claim; False when another run (or another claim of this process) holds it."""
        if sha256 in self._held:
            return True
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / sha256
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
            try:
                same = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:  # not a lock file its last holder removed while this one opened it
                self._held[sha256] = fd
                return True
            os.close(fd)

    def release(self, sha256: str) -> None:
        """Give the file's claim back (its lock file is removed)."""
        fd = self._held.pop(sha256, None)
        if fd is None:
            return
        (self.folder / sha256).unlink(missing_ok=True)
        os.close(fd)

    def release_all(self) -> None:
        """Give every claim back."""
        for sha in list(self._held):
            self.release(sha)
