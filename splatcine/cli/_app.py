"""The typer app shared by every command module, and how errors and progress reach the terminal.

A command parses its arguments, calls one library function, and lets this module
turn a `SplatcineError` into a one-line message and an exit code.
"""

from __future__ import annotations

import contextlib
import functools
import signal
import sys
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress as RichProgress, TaskID
from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

try:  # recent typer vendors its own copy of click, whose exceptions are the ones raised
    from typer import _click as click
except ImportError:
    import click

from splatcine.errors import InputError, Interrupted, SplatcineError
from splatcine.progress import Progress

console = Console(stderr=True)


def say(text: str) -> None:
    """Print a plain line on stderr: paths like `shot[final].mp4` are text, never rich markup."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def fail(err: SplatcineError) -> None:
    """`error: <one line>` (or `interrupted: ...`) on stderr; the exit code is the caller's."""
    label = "[yellow]interrupted:[/]" if isinstance(err, Interrupted) else "[bold red]error:[/]"
    console.print(f"{label} {escape(str(err))}", highlight=False, soft_wrap=True)


class _OneLineErrors(typer.core.TyperGroup):
    """The root command: option errors as one `error:` line (not click's usage box), and
    SIGTERM handled like Ctrl-C so a stopped run cleans up and checkpoints the same way."""

    def main(self, args: Any = None, prog_name: Any = None, complete_var: Any = None,
             standalone_mode: bool = True, **extra: Any) -> Any:  # fmt: skip
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError:  # the help was printed while raising it
            code = 2
        except click.exceptions.ClickException as err:  # UsageError, BadParameter, ...
            command = err.ctx.command_path if getattr(err, "ctx", None) else "splatcine"
            fail(InputError(f"{command}: {err.format_message()} (see {command} --help)"))
            code = err.exit_code
        except (typer.Abort, KeyboardInterrupt):  # typer.Abort: the vendored click has none
            fail(Interrupted("stopped before the command started"))
            code = Interrupted.exit_code
        finally:
            signal.signal(signal.SIGTERM, previous)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    name="splatcine",
    help="Keep a film set consistent across AI-generated video shots with 3D Gaussian splats.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=_OneLineErrors,
)

F = TypeVar("F", bound=Callable)


def user_errors(fn: F) -> F:
    """Turn `SplatcineError` into `error: <one line>` on stderr and its exit code.

    Ctrl-C (and SIGTERM, see `_OneLineErrors`) exits 130; an `OSError` the library did not
    anticipate (a disk filling up, a permission) is still one line naming the file.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except SplatcineError as err:
            fail(err)
            raise typer.Exit(err.exit_code) from None
        except KeyboardInterrupt:
            fail(Interrupted("stopped; nothing half-written was kept"))
            raise typer.Exit(Interrupted.exit_code) from None
        except OSError as err:
            where = f"{err.filename}: " if err.filename else ""
            fail(InputError(f"{where}{err.strerror or err}"))
            raise typer.Exit(InputError.exit_code) from None

    return wrapper  # type: ignore[return-value]


@contextlib.contextmanager
def progress_bars() -> Iterator[Callable[[Progress], None]]:
    """A `ProgressCallback` that draws one rich bar per stage (plain lines when not a terminal)."""
    columns = [
        SpinnerColumn(),
        TextColumn("[bold]{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[metrics]}"),
    ]
    tasks: dict[str, TaskID] = {}
    logged: dict[str, int] = {}  # without a terminal: the last tenth of each stage printed
    with RichProgress(*columns, console=console, disable=not sys.stderr.isatty()) as bars:

        def on_progress(event: Progress) -> None:
            metrics = "  ".join(
                f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in event.metrics.items()
            )
            if event.stage not in tasks:
                tasks[event.stage] = bars.add_task(event.stage, total=event.total, metrics=metrics)
            bars.update(tasks[event.stage], completed=event.done, total=event.total, metrics=metrics)
            if bars.disable:  # logs and CI: a plain line when a stage starts and every 10% of it
                tenth = 10 * event.done // event.total if event.total else 0
                if logged.get(event.stage, -1) < tenth:
                    logged[event.stage] = tenth
                    done = f" {event.done}/{event.total}" if event.total else " ..."
                    console.print(f"{event.stage}{done}  {metrics}".rstrip(), highlight=False)

        yield on_progress
