"""How progress reaches a log when stderr is not a terminal."""

from __future__ import annotations

import io

from rich.console import Console

from splatcine.cli import _app
from splatcine.progress import Progress


def test_plain_logs_get_a_line_per_tenth_of_a_stage(monkeypatch):
    log = io.StringIO()  # not a terminal, like CI and redirected output
    monkeypatch.setattr(_app, "console", Console(file=log, width=200))
    with _app.progress_bars() as progress:
        progress(Progress("decode", 0, None))
        for step in range(1, 101):
            progress(Progress("train", step, 100, {"loss": 0.5, "gaussians": 10}))
    lines = log.getvalue().splitlines()
    assert lines[0] == "decode ..."
    train = [line for line in lines if line.startswith("train")]
    # the first event (the stage starts), then one line per tenth
    assert [line.split()[1] for line in train] == ["1/100"] + [f"{10 * k}/100" for k in range(1, 11)]
    assert train[-1].endswith("loss 0.5  gaussians 10")
