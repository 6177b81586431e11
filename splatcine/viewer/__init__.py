"""The browser front end: the only part of splatcine that imports viser.

    from splatcine.paths import Editor
    from splatcine.viewer import EditorApp
    app = EditorApp(Editor("shot2.yaml", scene="scene/"), port=8080)   # http://127.0.0.1:8080

`drawing` turns scenes and paths into viser nodes; `editor_app` is the camera-path editor's
page, a thin layer over `splatcine.paths.Editor` (which holds all the state).
"""

from __future__ import annotations

from splatcine.viewer.editor_app import EditorApp

__all__ = ["EditorApp"]
