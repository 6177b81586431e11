"""A sampled path in other tools' formats, one module per format behind one small registry.

    nerfstudio    camera_path.json for ns-render (and read back by `path import`)  `nerfstudio`
    opencv        per-frame cam_from_world + K JSON                                `cameras_json`
    opengl        the same with world_from_cam in OpenGL axes                      `cameras_json`
    re10k         RealEstate10K / CameraCtrl pose text                             `re10k`
    plucker       per-pixel Plücker rays, safetensors                              `plucker`
    recammaster   ReCamMaster's camera_extrinsics.json                             `recammaster`

`export(path, fmt, out)` writes one atomically; a new format is a module with a
`write(path, out, **options)` and one line in `EXPORTERS`. All OpenCV <-> OpenGL
conversion goes through `splatcine.cameras`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from splatcine.atomic import atomic_file
from splatcine.errors import InputError
from splatcine.paths.build import SampledPath
from splatcine.paths.convert import cameras_json, nerfstudio, plucker, re10k, recammaster
from splatcine.paths.convert.cameras_json import read_cameras_json, to_cameras_json
from splatcine.paths.convert.nerfstudio import import_nerfstudio, read_nerfstudio, to_nerfstudio
from splatcine.paths.convert.plucker import plucker_embeddings, write_plucker
from splatcine.paths.convert.re10k import read_re10k, to_re10k
from splatcine.paths.convert.recammaster import to_recammaster
from splatcine.paths.convert.table import frame_table
from splatcine.paths.convert.yaml_path import to_path_yaml

EXPORTERS: dict[str, Callable[..., None]] = {
    "nerfstudio": nerfstudio.write,
    "opencv": cameras_json.write_opencv,
    "opengl": cameras_json.write_opengl,
    "re10k": re10k.write,
    "plucker": plucker.write,
    "recammaster": recammaster.write,
}
FORMATS = tuple(EXPORTERS)
OPTIONS = {"plucker": ("downsample",), "nerfstudio": ("dataparser_transforms",)}  # what each one takes


def export(path: SampledPath, fmt: str, out: Path, **options) -> Path:
    """Write `path` as `fmt` to `out` atomically; `options` (downsample, dataparser_transforms) go to
    the formats that take them, and setting one for another format is an error."""
    out = Path(out)
    if fmt not in EXPORTERS:
        raise InputError(f"unknown export format '{fmt}' (one of {', '.join(FORMATS)})")
    takes = OPTIONS.get(fmt, ())
    for name, value in options.items():
        if name not in takes and value not in (None, 1):
            owner = next(f for f, names in OPTIONS.items() if name in names)
            raise InputError(f"--{name.replace('_', '-')} applies to {owner} only, not {fmt}")
    with atomic_file(out) as tmp:
        EXPORTERS[fmt](path, tmp, **{k: v for k, v in options.items() if k in takes})
    return out


__all__ = ["EXPORTERS", "FORMATS", "export", "frame_table", "import_nerfstudio", "plucker_embeddings",
           "read_cameras_json", "read_nerfstudio", "read_re10k", "to_cameras_json", "to_nerfstudio",
           "to_path_yaml", "to_re10k", "to_recammaster", "write_plucker"]
