"""The typer app shared by every command module, and how errors and progress reach the terminal.

A command parses its arguments, calls one library function, and lets this module
turn a `SplatcineError` into a one-line message and an exit code.
"""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Callable, Iterator
from typing import TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress as RichProgress, TaskID
from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from splatcine.errors import SplatcineError
from splatcine.progress import Progress

app = typer.Typer(
    name="splatcine",
    help="Keep a film set consistent across AI-generated video shots with 3D Gaussian splats.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)

F = TypeVar("F", bound=Callable)


def user_errors(fn: F) -> F:
    """Turn `SplatcineError` into `error: <one line>` on stderr and its exit code."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except SplatcineError as err:
            console.print(f"[bold red]error:[/] {err}", highlight=False, soft_wrap=True)
            raise typer.Exit(err.exit_code) from None
        except KeyboardInterrupt:
            console.print("[yellow]interrupted[/]")
            raise typer.Exit(130) from None

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
