"""Typed progress events.

Long-running library functions take an optional `progress: ProgressCallback` and
call it with `Progress` events (or subclasses carrying more fields). They never
print; the CLI renders the events as rich progress bars (`splatcine.cli._app`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Progress:
    stage: str  # short human name of the stage, e.g. "decode", "sfm", "train"
    done: int
    total: int | None = None  # None when the amount of work is unknown
    metrics: dict[str, float | int | str] = field(default_factory=dict)  # shown beside the bar


ProgressCallback = Callable[[Progress], None]


def silent(_: Progress) -> None:
    """The default callback: report nothing."""
