"""Exit statuses of every ``gep`` command, and the one place that maps errors to them.

=====  ==========================================================================
0      success
1      checks found problems: ``gep validate`` in what it checked, ``gep calibrate``
       a fit that failed its plausibility gates (nothing written)
2      bad input or configuration: stopped before any work, nothing written
3      failure during work: the outputs were not published (an earlier output
       folder of the same name is left as it was)
130    interrupted (Ctrl-C, SIGINT): nothing published
143    terminated (SIGTERM, as schedulers stop jobs): nothing published
=====  ==========================================================================

Imports only the standard library, click and the light error modules, so that ``gep --help``
starts fast; the linkage layer's errors are recognised without importing it.
"""

from __future__ import annotations

import errno
import signal
import sys
import tempfile
import traceback
from enum import IntEnum
from types import FrameType
from typing import Any

import typer
from typer.core import TyperGroup

from data_catalog.errors import CatalogError, GEPError
from gep.cli.console import err_console, print_error, print_problems
from gep.io.atomic import Terminated, request_stop, stop_requested

__all__ = [
    "EXIT_STATUS_HELP",
    "ExitStatus",
    "GuardedGroup",
    "Terminated",
    "ignore_signals",
    "install_sigterm",
]


class ExitStatus(IntEnum):
    """The documented exit statuses (see the module docstring and ``gep --help``)."""

    OK = 0
    PROBLEMS_FOUND = 1
    BAD_INPUT = 2
    WORK_FAILED = 3
    INTERRUPTED = 130
    TERMINATED = 143


#: Shown at the end of ``gep --help``.
EXIT_STATUS_HELP = (
    "Exit status: 0 success; 1 checks found problems (`gep validate`; `gep calibrate` gates); "
    "2 bad input or configuration, "
    "stopped before work; 3 failure during work, outputs not published; 130 interrupted "
    "(Ctrl-C); 143 terminated (SIGTERM)."
)


def _on_stop(signum: int, frame: FrameType | None) -> None:
    raise request_stop(signum)


def install_sigterm() -> None:
    """SIGTERM raises :class:`Terminated` and SIGINT ``KeyboardInterrupt``, both recorded.

    Staged outputs are cleaned up before exit; the record (:func:`gep.io.atomic.request_stop`)
    keeps a signal whose exception a finaliser swallowed from being lost.
    """
    signal.signal(signal.SIGTERM, _on_stop)
    signal.signal(signal.SIGINT, _on_stop)


def ignore_signals() -> None:
    """Ignore SIGINT and SIGTERM from now on (the process is about to exit)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _linkage_error(exc: BaseException) -> bool:
    module = sys.modules.get("linkage.errors")
    return module is not None and isinstance(exc, module.LinkageError)


def _linkage_problems(exc: BaseException) -> list[tuple[str, str, str, str]] | None:
    problems = getattr(exc, "problems", None)
    if not problems or not _linkage_error(exc):
        return None
    return [(p.rule_id, p.where, p.message, p.hint) for p in problems]


def status_of(exc: BaseException) -> ExitStatus:
    """Print what went wrong and return the exit status it maps to.

    Parameters
    ----------
    exc : BaseException
        An exception that escaped a command.

    Returns
    -------
    ExitStatus
        The status to exit with (never ``OK``).
    """
    if isinstance(exc, KeyboardInterrupt):
        err_console.print("[yellow]interrupted: no output folder was written[/yellow]")
        return ExitStatus.INTERRUPTED
    if isinstance(exc, Terminated):
        err_console.print("[yellow]terminated (SIGTERM): no output folder was written[/yellow]")
        return ExitStatus.TERMINATED
    if _disk_full(exc):
        print_error(DISK_FULL_MESSAGE.format(error=exc, tmp=tempfile.gettempdir()))
        return ExitStatus.WORK_FAILED
    status = getattr(exc, "exit_status", None)
    if status == ExitStatus.WORK_FAILED:
        print_error(str(exc))
        return ExitStatus.WORK_FAILED
    if isinstance(exc, CatalogError):
        print_problems("the catalog", [(p.entry, p.field, p.message, p.hint) for p in exc.problems])
    elif (rows := _linkage_problems(exc)) is not None:
        print_problems("the linkage policy", rows, title="refused")
    elif isinstance(exc, GEPError) or _linkage_error(exc):
        print_error(str(exc))
    elif isinstance(exc, OSError):
        print_error(f"{type(exc).__name__}: {exc}")
        return ExitStatus.WORK_FAILED
    else:
        err_console.print(
            "[red]internal error[/red] (a bug in gep: please report it with the traceback below)"
        )
        err_console.print(
            "".join(traceback.format_exception(exc)), markup=False, highlight=False, soft_wrap=True
        )
        return ExitStatus.WORK_FAILED
    err_console.print("[red]stopped before any output was written[/red]")
    return ExitStatus.BAD_INPUT


#: What a full disk during work is told as (``{error}``: the error, ``{tmp}``: the scratch folder).
DISK_FULL_MESSAGE = (
    "a disk filled up during the work ({error}). gep keeps its "
    "scratch files in the temporary folder {tmp} and stages the outputs beside the output "
    "folder: free space on those disks, or point TMPDIR to a disk with more room "
    "(e.g. TMPDIR=/data/tmp gep run ...), and run again"
)


def _disk_full(exc: BaseException) -> bool:
    """True if ``exc`` (or an error it was raised from) is a full disk (``ENOSPC``).

    GDAL's write errors reach Python as rasterio errors whose text, not ``errno``, says so.

    Examples
    --------
    >>> _disk_full(OSError(errno.ENOSPC, "No space left on device"))
    True
    >>> _disk_full(RuntimeError("TIFFAppendToStrip: Write error; No space left on device"))
    True
    >>> _disk_full(OSError(errno.ENOENT, "No such file or directory"))
    False
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno == errno.ENOSPC:
            return True
        if "No space left on device" in str(current):
            return True
        wrapped = getattr(current, "cause", None)  # RunFailedError keeps what stopped the work
        current = (
            wrapped if isinstance(wrapped, BaseException) else current.__cause__
        ) or current.__context__
    return False


class GuardedGroup(TyperGroup):
    """A command group whose commands exit with the documented statuses, whatever they raise."""

    def invoke(self, ctx: Any) -> Any:
        """Run the command; map an escaping error or signal to its exit status."""
        try:
            result = super().invoke(ctx)
        except (Exception, KeyboardInterrupt, Terminated) as exc:
            if _framework(exc):  # typer/click's own exits and usage errors
                raise
            raise typer.Exit(int(status_of(exc))) from None
        if (stopped := stop_requested()) is not None:  # a signal that arrived while finishing
            err_console.print(
                "[yellow]stop signal received while finishing: what was published before it "
                "is complete[/yellow]"
            )
            raise typer.Exit(
                int(
                    ExitStatus.TERMINATED
                    if isinstance(stopped, Terminated)
                    else ExitStatus.INTERRUPTED
                )
            )
        return result


def _framework(exc: BaseException) -> bool:
    """True for the command-line framework's own exceptions (exit, usage error, abort)."""
    return type(exc).__module__.split(".")[0] in {"click", "typer"}
