"""The browser front end: the only part of splatcine that imports viser.

    from splatcine.paths import Editor
    from splatcine.viewer import EditorApp
    app = EditorApp(Editor("shot2.yaml", scene="scene/"), port=8080)   # http://127.0.0.1:8080

`drawing` turns scenes and paths into viser nodes; `editor_app` is the camera-path editor's
page, a thin layer over `splatcine.paths.Editor` (which holds all the state).
"""

from __future__ import annotations

from splatcine.errors import MissingDependencyError

try:
    from splatcine.viewer.editor_app import EditorApp
except ModuleNotFoundError as err:  # viser is an optional extra
    if err.name != "viser":
        raise
    EditorApp = None  # type: ignore[assignment,misc]


def serve(editor, *, host: str = "127.0.0.1", port: int = 8080) -> "EditorApp":
    """Serve `editor` (a `splatcine.paths.Editor`) in the browser; `.stop()` ends it."""
    if EditorApp is None:
        raise MissingDependencyError("the editor needs viser: pip install 'splatcine[editor]'")
    return EditorApp(editor, host=host, port=port)


__all__ = ["EditorApp", "serve"]
