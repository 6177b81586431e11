"""`splatcine path edit` through typer's runner, with the browser front end observed (not served)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from splatcine.cli import app

runner = CliRunner()


class FakeApp:
    def __init__(self, editor, host, port):
        self.editor, self.url, self.stopped = editor, f"http://{host}:{port}", False

    def stop(self):
        self.stopped = True


def test_edit_opens_the_editor_on_the_scene_and_file(monkeypatch, editor_scene, path_file):
    import time

    import splatcine.viewer

    served = []
    monkeypatch.setattr(splatcine.viewer, "serve", lambda editor, host, port: served.append(FakeApp(editor, host, port)) or served[-1])
    monkeypatch.setattr(time, "sleep", lambda _: (_ for _ in ()).throw(KeyboardInterrupt))  # Ctrl-C at once
    result = runner.invoke(app, ["path", "edit", str(editor_scene), str(path_file), "--port", "8123"])
    assert result.exit_code == 130, result.output  # stopped by Ctrl-C
    (fake,) = served
    assert fake.stopped and fake.url == "http://127.0.0.1:8123"
    assert fake.editor.file == path_file and fake.editor.scene.root == Path(editor_scene)
    assert fake.editor.error is None and len(fake.editor.path) == 25
    assert f"editing {path_file} at http://127.0.0.1:8123" in result.output


def test_edit_a_missing_scene_is_one_error_line(tmp_path):
    result = runner.invoke(app, ["path", "edit", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert "error:" in result.output and "no such scene directory" in result.output
