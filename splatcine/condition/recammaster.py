"""`recammaster`: the target camera file ReCamMaster's `inference_recammaster.py` reads.

    recammaster/
      example_test_data/cameras/camera_extrinsics.json   {"frame0".."frame80": {"cam01": "[..] [..] [..] [..]"}}
      example_test_data/metadata.csv                     file_name,text (one row for the source video)
      HOW_TO_RUN.txt                                     the commands

ReCamMaster re-films a *source video* along a target camera path. Its script reads the
path from the fixed relative path `./example_test_data/cameras/camera_extrinsics.json`,
takes frames 0, 4, ..., 80 of the `cam{--cam_type:02d}` entry, and asserts 81 frames, so
the shot must be 81 frames (target `recammaster`). Each entry is the transpose of an Unreal
camera-to-world (columns forward, right, up, translation in centimetres); the conversion is
`splatcine.paths.convert.recammaster`. Poses are taken relative to frame 0 by the script, so
start the path on the source video's first camera (`from_frame: 0`).
"""

from __future__ import annotations

import json
from pathlib import Path

from splatcine.condition.cameractrl import as_sampled_path
from splatcine.paths.convert.recammaster import to_recammaster
from splatcine.render.shot import RenderedShot

CAM_TYPE = 1  # written as "cam01": run with --cam_type 1

HOW_TO_RUN = """\
ReCamMaster reads its target cameras from ./example_test_data/cameras/camera_extrinsics.json
(relative to where inference_recammaster.py runs) and the source videos from --dataset_path.
Below, DATA is this folder's example_test_data (an absolute path).

1. Put the source shot (at least 81 frames) at DATA/videos/source.mp4 and describe it in
   DATA/metadata.csv (columns file_name,text; a row is already there to edit).
2. From your ReCamMaster checkout:
     cp example_test_data/cameras/camera_extrinsics.json example_test_data/cameras/camera_extrinsics.json.orig
     cp DATA/cameras/camera_extrinsics.json example_test_data/cameras/camera_extrinsics.json
     python inference_recammaster.py --cam_type {cam} --dataset_path DATA
"""


def write(shot: RenderedShot, folder: Path) -> None:
    data = folder / "example_test_data"
    (data / "cameras").mkdir(parents=True)
    (data / "videos").mkdir()
    cameras = to_recammaster(as_sampled_path(shot.cameras, shot.fps), cam=CAM_TYPE)
    (data / "cameras" / "camera_extrinsics.json").write_text(json.dumps(cameras, indent=1))
    (data / "metadata.csv").write_text('file_name,text\nsource.mp4,"describe the source video here"\n')
    (folder / "HOW_TO_RUN.txt").write_text(HOW_TO_RUN.format(cam=CAM_TYPE))
