"""The check's report directory.

    REPORT_DIR/
      report.json        verdict, findings, overall and per-frame figures, changed regions, timings
      contact_sheet.png  every n-th frame: generated | render | error (changed regions boxed), labelled
      error.mp4          the error map of every frame (black: not compared), changed regions boxed
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from splatcine.io.video import write_image, write_video

REPORT = "report.json"
CONTACT_SHEET = "contact_sheet.png"
ERROR_VIDEO = "error.mp4"
CONTACT_ROWS = 8
ERROR_SCALE = 0.3  # error maps are shown from 0 to this mean absolute difference (brightest)


def write_report(out_dir: Path, result, frames: list[np.ndarray], settings) -> None:
    out_dir = Path(out_dir)
    (out_dir / REPORT).write_text(json.dumps(report_json(result, settings), indent=2))
    heat = [_boxed(_heat(result.error_maps[i]), _boxes_at(result, i)) for i in range(len(frames))]
    write_video(out_dir / ERROR_VIDEO, heat, fps=24.0)
    write_image(out_dir / CONTACT_SHEET, contact_sheet(result, frames, heat))


def report_json(result, settings) -> dict:
    r = lambda v, n=3: None if v is None else round(float(v), n)  # noqa: E731
    per_frame = []
    for f in result.frames:
        s = f.score
        per_frame.append({
            "index": f.index, "placed": f.camera is not None, "doubtful": f.index in result.doubtful,
            "inliers": f.inliers,
            "reprojection_px": r(f.reprojection_px),
            "cam_from_world": None if f.camera is None else np.round(f.camera.cam_from_world, 6).tolist(),
            "psnr": r(s.psnr if s else None), "ssim": r(s.ssim if s else None, 4),
            "compared": r(s.compared if s else None), "coarse": r(s.coarse if s else None),
            "disagree": r(s.disagree if s else None, 4),
            "colour_gain": [r(g) for g in s.gain] if s else None,
            "colour_offset": [r(o) for o in s.offset] if s else None,
        })  # fmt: skip
    settings_doc = asdict(settings)
    return {
        "shot": str(result.shot),
        "passed": result.passed,
        "findings": [{"kind": f.kind, "message": f.message} for f in result.findings],
        "notes": result.notes,
        "overall": {
            "frames": len(result.frames), "placed": len(result.frames) - len(result.unplaced),
            "unplaced": result.unplaced, "focal_px": r(result.focal_px, 2),
            "psnr": r(result.psnr), "ssim": r(result.ssim, 4),
        },
        "camera_adherence": result.adherence.to_json() if result.adherence else None,
        "changes": [c.to_json() for c in result.changes],
        "frames": per_frame,
        "settings": settings_doc,
        "seconds": {k: round(v, 2) for k, v in result.seconds.items()},
    }


def contact_sheet(result, frames: list[np.ndarray], heat: list[np.ndarray]) -> np.ndarray:
    """Rows of evenly spaced frames, three labelled columns: generated | render | error."""
    from PIL import Image, ImageDraw

    picks = np.unique(np.linspace(0, len(frames) - 1, min(CONTACT_ROWS, len(frames))).round().astype(int))
    h, w = frames[0].shape[:2]
    step = max(1, int(np.ceil(w / 320)))  # thumbnails about 320 px wide
    rows = []
    for i in picks:
        cells = [frames[i], result.renders[i], heat[i]]
        rows.append(np.concatenate([_pad(c[::step, ::step]) for c in cells], axis=1))
    body = np.concatenate(rows, axis=0)
    header = 18
    sheet = Image.fromarray(np.pad(body, ((header, 0), (0, 0), (0, 0)), constant_values=255))
    draw = ImageDraw.Draw(sheet)
    cell_w = body.shape[1] // 3
    for c, label in enumerate(("generated", "render of the set", "error")):
        draw.text((c * cell_w + 6, 3), label, fill=(0, 0, 0))
    cell_h = body.shape[0] // len(picks)
    for r, i in enumerate(picks):
        f = result.frames[i]
        text = f"frame {i}" + ("  not placed" if f.camera is None else
                               "  camera doubtful: not compared" if i in result.doubtful else
                               f"  {f.score.psnr:.1f} dB" if f.score and f.score.psnr is not None else "")
        draw.text((6, header + r * cell_h + 4), text, fill=(255, 255, 0))
    return np.asarray(sheet)


def _heat(error: np.ndarray) -> np.ndarray:  # [H, W] 0-1 -> [H, W, 3] uint8 through inferno
    from matplotlib import colormaps

    rgb = colormaps["inferno"](np.clip(error / ERROR_SCALE, 0.0, 1.0))[..., :3]
    return (rgb * 255 + 0.5).astype(np.uint8)


def _boxes_at(result, index: int) -> list[tuple[int, int, int, int]]:
    return [c.boxes[index] for c in result.changes if index in c.boxes]


def _boxed(image: np.ndarray, boxes: list[tuple[int, int, int, int]]) -> np.ndarray:
    out = image.copy()
    for x0, y0, x1, y1 in boxes:
        for t in range(2):  # two pixels wide, cyan
            out[max(y0 + t, 0), x0:x1] = out[max(y1 - 1 - t, 0), x0:x1] = (0, 255, 255)
            out[y0:y1, max(x0 + t, 0)] = out[y0:y1, max(x1 - 1 - t, 0)] = (0, 255, 255)
    return out


def _pad(image: np.ndarray, border: int = 2) -> np.ndarray:
    return np.pad(image, ((border, border), (border, border), (0, 0)), constant_values=255)
