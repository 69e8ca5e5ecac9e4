"""Writing files and folders so that a crash never leaves a half-written one under the real name,
and so that two runs never write one model directory at once."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


#: temporary files are created private (0600); the finished file gets the usual permissions
_UMASK = _umask()


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        os.chmod(temporary, 0o666 & ~_UMASK)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_folder(path: str | Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; it replaces ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        yield temporary
        os.chmod(temporary, 0o777 & ~_UMASK)
        if path.exists():
            old = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".old"))
            os.replace(path, old / "replaced")
            os.replace(temporary, path)
            shutil.rmtree(old)
        else:
            os.replace(temporary, path)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


LOCK_FILE = ".gantk.lock"


@contextlib.contextmanager
def exclusive_directory(directory: str | Path) -> Iterator[None]:
    """Hold ``directory`` for this process while the block runs: a second gantk run on it is
    refused at once (naming the process that holds it) instead of interleaving checkpoints.
    An advisory lock (flock) that the kernel drops when the process dies, so a killed run
    never leaves a stale lock behind."""
    from gantk.errors import GantkError

    try:
        import fcntl
    except ImportError:  # no flock (Windows): run unguarded, as before
        yield
        return
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise GantkError(f"{directory}: exists and is not a folder")
    created = not directory.exists()
    directory.mkdir(parents=True, exist_ok=True)
    handle = open(directory / LOCK_FILE, "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise GantkError(f"{directory}: another gantk run ({holder}) is writing this model "
                             "directory; wait for it or choose another -o") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        yield
    finally:
        if created and [path.name for path in directory.iterdir()] == [LOCK_FILE]:
            (directory / LOCK_FILE).unlink()  # a run that failed before writing anything
            directory.rmdir()
        handle.close()
