"""Camera paths: a YAML language for a new shot's camera move, sampled to one camera per frame.

    from splatcine import paths
    path = paths.load("cameras/orbit.yaml", scene="build/demo/scene")
    path.cam_from_world  # [F, 4, 4] OpenCV
    path.intrinsics      # one Intrinsics per frame
    path.times, path.fps, path.width, path.height, path.cameras

The format is documented in the README (section camera-paths) and by the examples in
`cameras/`; `schema.py` is its one definition. Conversions to and from other tools'
formats are in `convert/` (one module each), the preview figure in `preview.py`. `Editor`
(`editor.py`) is the state behind `splatcine path edit`: keyframes, moves and target edited in
the YAML itself.
"""

from __future__ import annotations

from pathlib import Path

from splatcine.paths.build import SampledPath
from splatcine.paths.editor import Editor
from splatcine.paths.source import read_source
from splatcine.scene import Scene


def load(path_yaml: Path | str, scene: Scene | Path | str | None = None) -> SampledPath:
    """Read, validate and sample a camera-path YAML file. Raises `InputError` on bad input."""
    from splatcine.paths.build import build

    return build(read_source(path_yaml), scene)


def loads(text: str, scene: Scene | Path | str | None = None, name: str = "<path>") -> SampledPath:
    """`load` for YAML text (errors name `name` as the file)."""
    from splatcine.paths.build import build

    return build(read_source(name, text=text), scene)


__all__ = ["Editor", "SampledPath", "load", "loads"]
