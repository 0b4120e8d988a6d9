"""Job folders: where an analysis or a dump download keeps its files, under the scratch root
(``OOMLENS_SCRATCH_DIR``, by default ``<data dir>/scratch``), never the system temp folder.

A folder is removed by its owner when the work ends, but a process killed by SIGKILL (the OOM
killer, a time limit, a crash loop) removes nothing, and each one left a decompressed dump behind.
So every folder ``NAME`` has a lock file ``NAME.lock`` beside it, on which the owner holds an
exclusive ``flock`` for the folder's whole life. The kernel drops that lock when the owner dies,
however it dies, and a pid reused since cannot fool it; ``sweep`` removes each folder whose lock
it can take, which is exactly the folders no live process owns. ``flock`` rather than ``fcntl``
locks: those are per process (a sweep in the server would take the lock of the server's own
download) and any close of the file drops them.

Servers and workers may share one root: a live folder's lock is never free, so no sweep removes
it. The lock file is made and locked before its folder exists, and removed only after it (by its
owner or a sweep holding the lock), so there is no moment when a live folder looks unowned. Only
names this module makes (``kind-<16 hex>`` and its ``.lock``) are touched: a root pointed at a
shared folder by mistake loses nothing of anyone else's.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import secrets
import shutil
import sys
import tempfile
from pathlib import Path

LOCK = ".lock"
_OURS = re.compile(r"([a-z]+-[0-9a-f]{16})(\.lock)?")


class JobFolder:
    """A folder of ``root`` owned by this process until ``remove()`` (or its death); a context
    manager that removes it on exit."""

    def __init__(self, root: Path, kind: str):
        root.mkdir(parents=True, exist_ok=True)
        while True:
            name = f"{kind}-{secrets.token_hex(8)}"
            lock = root / f"{name}{LOCK}"
            try:
                fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                continue
            fcntl.flock(fd, fcntl.LOCK_EX)  # waits only while a sweep holds it, to unlink it
            if _still_named(fd, lock):
                break
            os.close(fd)  # a sweep took it first: that name is gone, take another
        self._fd, self._lock = fd, lock
        self.path = root / name
        try:
            self.path.mkdir(mode=0o700)
        except BaseException:
            self.remove()
            raise

    def remove(self) -> None:
        if self._fd is None:
            return
        shutil.rmtree(self.path, ignore_errors=True)
        self._lock.unlink(missing_ok=True)
        os.close(self._fd)  # the lock goes last: until here a sweep keeps off
        self._fd = None

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, *_exc) -> None:
        self.remove()


def sweep(root: Path) -> int:
    """Remove every folder of ``root`` that no live process owns; returns how many. Safe at any
    time, in any number of processes at once."""
    try:
        names = os.listdir(root)
    except FileNotFoundError:
        return 0
    removed = 0
    for entry in sorted(names):
        match = _OURS.fullmatch(entry)
        if match is None:
            continue  # not ours: left alone
        name, is_lock = match.groups()
        try:
            if is_lock:
                removed += _take_and_remove(root, name)
            elif not (root / f"{name}{LOCK}").exists():
                # its lock is gone but it is not (a sweep stopped halfway): nobody owns it
                removed += _remove(root / name)
        except OSError:
            continue  # not ours to open (another user's root?): the next sweep tries again
    return removed


def sweep_at_start(root: Path, who: str) -> None:
    """``sweep`` for a starting server or worker, saying on stderr what it removed."""
    if swept := sweep(root):
        print(f"{who}: removed {swept} job folder(s) that stopped jobs left in {root}",
              file=sys.stderr)


def scratch_file(root: Path):
    """An anonymous file under ``root`` (gone when closed, or when its process dies)."""
    root.mkdir(parents=True, exist_ok=True)
    return tempfile.TemporaryFile(dir=root)  # noqa: SIM115 - the caller closes it


def _take_and_remove(root: Path, name: str) -> int:
    lock = root / f"{name}{LOCK}"
    try:
        fd = os.open(lock, os.O_RDWR)
    except FileNotFoundError:
        return 0  # its owner just removed it
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return 0  # a live job holds it
        if not _still_named(fd, lock):
            return 0  # another sweep removed it meanwhile
        removed = _remove(root / name)
        lock.unlink(missing_ok=True)
        return removed
    finally:
        os.close(fd)


def _remove(folder: Path) -> int:
    existed = folder.is_dir()
    shutil.rmtree(folder, ignore_errors=True)
    return int(existed)


def _still_named(fd: int, path: Path) -> bool:
    """Whether ``path`` is still the file open as ``fd`` (not unlinked, not replaced)."""
    with contextlib.suppress(FileNotFoundError):
        named, held = os.stat(path), os.fstat(fd)
        return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)
    return False
