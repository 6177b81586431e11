"""Where things live inside a scene directory (the one place that names these files).

    scene/
      manifest.json       what made it: inputs with hashes, settings, library versions
      report.json         diagnosis of the run (frames read/kept/registered, errors, timings)
      transforms.json     nerfstudio-compatible cameras (OpenGL camera-to-world), + source_frame
      images/             kept frames, undistorted, as PNG
      masks/              optional; PNG per frame, 255 = ignore (moving thing), 0 = static set
      alpha/              optional; the alpha of input frames that had one (255 = opaque); their
                          images/ are composited on black (splatcine.ingest.alpha)
      masks.png           contact sheet of the frames with their masks tinted (when there are masks)
      masks_residual/     after training: pixels the robust loss left out (255), training resolution
      sparse/0/           COLMAP model (cameras.bin, images.bin, points3D.bin), normalised frame
      points.ply          sparse points with colours
      splat.ply           trained Gaussians, standard 3DGS PLY (after training)
      metrics.json        held-out evaluation (after training)
      training.incomplete while a training runs, and after one that never finished (killed)
"""

from __future__ import annotations

from pathlib import Path

MANIFEST = "manifest.json"
REPORT = "report.json"
TRANSFORMS = "transforms.json"
IMAGES = "images"
MASKS = "masks"
ALPHA = "alpha"
MASK_SHEET = "masks.png"
RESIDUAL_MASKS = "masks_residual"
SPARSE = "sparse/0"
POINTS_PLY = "points.ply"
SPLAT_PLY = "splat.ply"
METRICS = "metrics.json"
CHECKPOINTS = "checkpoints"
# Written when training starts and removed when its outputs are complete: a scene that still
# has it was killed mid-training (SIGKILL, power loss), unlike an `--sfm-only` scene.
TRAINING_MARKER = "training.incomplete"

# Mask convention, everywhere in splatcine: a single-channel 8-bit image where
# 255 (white) marks pixels to IGNORE (moving things) and 0 (black) the static set.
# This matches the convention of inpainting masks (white = to be regenerated).
MASK_IGNORE = 255


def is_scene_dir(path: Path) -> bool:
    return (Path(path) / TRANSFORMS).is_file() and (Path(path) / MANIFEST).is_file()
