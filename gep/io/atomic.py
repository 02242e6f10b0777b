"""Atomic outputs: files and whole folders appear complete or not at all.

A folder is built in a hidden sibling, ``.NAME.PID-XXXXXXXX.partial``, and renamed onto the
target at the end. A run killed with SIGKILL cannot clean up, so its ``.partial`` folder stays;
the next run into the same target removes it (:func:`remove_stale_partials`) when the process
that made it is gone, and says so.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from data_catalog.errors import GEPError

__all__ = [
    "RunFailedError",
    "Terminated",
    "request_stop",
    "stop_requested",
    "atomic_write",
    "remove_stale_partials",
    "staged_folder",
]


class Terminated(BaseException):  # noqa: N818 - a signal, like KeyboardInterrupt
    """Raised in the main thread when the process receives SIGTERM."""


#: Signals received (SIGINT, SIGTERM) that asked the process to stop, in order.
_STOP_SIGNALS: list[int] = []


def request_stop(signum: int) -> BaseException:
    """Record a stop signal; return the exception that stands for it.

    A signal handler's exception can be swallowed when it fires inside a finaliser
    (``__del__``); the record survives, and :func:`stop_requested` finds it before outputs are
    published and when the command ends.
    """
    _STOP_SIGNALS.append(signum)
    return Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def stop_requested() -> BaseException | None:
    """The exception of the first stop signal received, or ``None``."""
    if not _STOP_SIGNALS:
        return None
    return Terminated() if _STOP_SIGNALS[0] == signal.SIGTERM else KeyboardInterrupt()


class RunFailedError(GEPError):
    """Work failed after it had started; nothing was published (exit status 3).

    Parameters
    ----------
    target : pathlib.Path
        The output folder that was not written (an existing one is left untouched).
    cause : BaseException
        The error that stopped the work.
    """

    exit_status = 3

    def __init__(self, target: Path, cause: BaseException) -> None:
        self.target = target
        self.cause = cause
        kind = "" if isinstance(cause, GEPError) else f"{type(cause).__name__}: "
        super().__init__(
            f"{kind}{cause}\nthe run failed during work; {target} was not written "
            "(an earlier folder of that name is left as it was)"
        )


def atomic_write(path: Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` on a temporary path beside ``path``, then move it into place.

    Parameters
    ----------
    path : pathlib.Path
        Final file path.
    write : callable
        Writes the file it is given; it must create it (the temporary path does not exist).

    Returns
    -------
    pathlib.Path
        ``path``.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> atomic_write(folder / "a.txt", lambda tmp: tmp.write_text("done")).read_text()
    'done'
    >>> sorted(p.name for p in folder.iterdir())
    ['a.txt']
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        tmp.unlink()  # writers such as GDAL refuse to overwrite an empty file
        write(tmp)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return path


def _partial_pid(folder: Path, target: Path) -> int | None:
    """Process id encoded in a ``.partial`` folder's name (``None`` for older names)."""
    middle = folder.name.removeprefix(f".{target.name}.").removesuffix(".partial")
    pid, _, _rest = middle.partition("-")
    return int(pid) if pid.isdigit() else None


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # no such process, or no such pid at all
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_stale_partials(target: Path) -> list[Path]:
    """Remove what killed runs into ``target`` left beside it; return what was removed.

    Removed: ``.TARGET.*.partial`` folders whose process is gone (or whose name carries no
    process id, as earlier versions wrote them) and a ``.TARGET.old`` folder left between the
    two renames of a publication. Folders of runs still alive are kept.

    Examples
    --------
    >>> import tempfile
    >>> parent = Path(tempfile.mkdtemp())
    >>> (parent / ".out.12345678901-abcd.partial").mkdir()   # no such process
    >>> [p.name for p in remove_stale_partials(parent / "out")]
    ['.out.12345678901-abcd.partial']
    """
    target = Path(target).resolve()
    if not target.parent.is_dir():
        return []
    removed = []
    for folder in sorted(target.parent.glob(f".{target.name}.*.partial")):
        pid = _partial_pid(folder, target)
        if folder.is_dir() and (pid is None or not _alive(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    old = target.with_name(f".{target.name}.old")
    if old.is_dir():
        shutil.rmtree(old, ignore_errors=True)
        removed.append(old)
    return removed


def _publish(tmp: Path, target: Path) -> None:
    if target.exists():
        old = target.with_name(f".{target.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, target)


@contextlib.contextmanager
def staged_folder(target: Path) -> Iterator[Path]:
    """Build outputs in a temporary sibling folder; move it to ``target`` only on success.

    An existing ``target`` is replaced only after the new one is complete. A failed or
    interrupted run removes its temporary folder and leaves ``target`` untouched; an error
    raised inside the block is re-raised as :class:`RunFailedError` (exit status 3), while
    ``KeyboardInterrupt`` and other non-``Exception`` signals pass through unchanged.

    Examples
    --------
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "out"
    >>> with staged_folder(target) as tmp:
    ...     _ = (tmp / "a.txt").write_text("x")
    >>> sorted(p.name for p in target.parent.iterdir())
    ['out']
    >>> try:
    ...     with staged_folder(target) as tmp:
    ...         raise ValueError("disk on fire")
    ... except RunFailedError as exc:
    ...     print(str(exc).splitlines()[0])
    ValueError: disk on fire
    >>> sorted(p.name for p in target.iterdir())  # the earlier output is left as it was
    ['a.txt']
    """
    target = Path(target).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{target.name}.{os.getpid()}-"
    tmp = Path(tempfile.mkdtemp(prefix=prefix, suffix=".partial", dir=target.parent))
    try:
        try:
            yield tmp
            if (stopped := stop_requested()) is not None:
                raise stopped  # a stop signal whose exception was swallowed: do not publish
            _publish(tmp, target)
        except RunFailedError:
            raise
        except Exception as exc:
            raise RunFailedError(target, exc) from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
