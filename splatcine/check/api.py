"""`check`: score a generated shot against the set it was meant to show.

    localise  every frame registered into the scene's model (frames that cannot be placed are listed)
    adhere    recovered cameras against the requested ones (when the conditioning shot dir is given)
    compare   the splat rendered at the recovered cameras against the frames, where the set was seen well
    verdict   pass, or the findings that fail it (placement, camera, consistency, changed regions)

The report directory (`splatcine.check.report`) appears whole or not at all.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from splatcine import __version__
from splatcine.atomic import CHECK_KIND, MANIFEST, atomic_directory, check_output_dir
from splatcine.cameras import Camera
from splatcine.check import consistency
from splatcine.check.adherence import Adherence, adherence, requested_for
from splatcine.check.consistency import ChangeRegion, FrameScore
from splatcine.check.localise import Localised, localise
from splatcine.errors import InputError
from splatcine.progress import Progress, ProgressCallback, silent
from splatcine.scene import Scene, load_scene
from splatcine.sfm.register import RegisterSettings

# Defaults of the verdict. PSNR is a coarse alarm (another set, another grade of light, a blurred
# shot), not the detector of local changes (the change regions are): on the procedural set, whose
# texture is finer than a splat resolves, an unchanged shot scores 18.8 dB against a ground-truth
# splat, a moved box 18.0, a repainted crate 18.5 (benchmarks/results/check.json).
MIN_PSNR = 15.0
# Registration puts an unchanged shot within 0.1-0.3% of its path length and 0.1 degrees; a model
# that drifts from the requested move by a tenth of it is off by 10%. 5% and 5 degrees sit between.
MAX_CAMERA_ERROR = 5.0  # % of the requested path's length
MAX_ROTATION_DEG = 5.0
MIN_PLACED = 0.8  # share of the shot's frames that must be placed in the set
MIN_COMPARED = 0.05  # a frame with less of it seen well than this share tells nothing about the set


@dataclass(frozen=True)
class CheckSettings:
    min_psnr: float = MIN_PSNR
    max_camera_error: float = MAX_CAMERA_ERROR
    max_rotation_deg: float = MAX_ROTATION_DEG
    min_placed: float = MIN_PLACED
    register: RegisterSettings = RegisterSettings()
    backend: str = "auto"


@dataclass(frozen=True)
class Finding:
    """Why a shot fails: `kind` is unplaced, camera, consistency or changed; `message` one line."""

    kind: str
    message: str


@dataclass(frozen=True)
class FrameCheck:
    index: int
    camera: Camera | None  # recovered, scene frame; None: not placed
    inliers: int
    reprojection_px: float | None
    score: FrameScore | None  # None: not placed


@dataclass
class CheckResult:
    """What `check` found; `passed` is the verdict and `findings` say why not."""

    shot: Path
    passed: bool
    findings: list[Finding]
    frames: list[FrameCheck]
    changes: list[ChangeRegion]
    adherence: Adherence | None  # None without the conditioning shot directory
    focal_px: float
    psnr: float | None  # mean over compared frames, dB
    ssim: float | None
    notes: list[str] = field(default_factory=list)  # what the check could not tell
    seconds: dict[str, float] = field(default_factory=dict)
    out_dir: Path | None = None
    renders: np.ndarray | None = field(default=None, repr=False)  # [F, H, W, 3] uint8, 0 where unplaced
    error_maps: np.ndarray | None = field(default=None, repr=False)  # [F, H, W] float32 in 0-1
    doubtful: list[int] = field(default_factory=list)  # placed, but off the shot's path: not compared

    @property
    def unplaced(self) -> list[int]:
        return [f.index for f in self.frames if f.camera is None]

    @property
    def cameras(self) -> list[Camera | None]:
        return [f.camera for f in self.frames]

    def kinds(self) -> set[str]:
        return {f.kind for f in self.findings}


def check(
    scene: Scene | Path | str,
    shot: Path | str,
    out_dir: Path | str | None,
    *,
    render: Path | str | None = None,
    settings: CheckSettings = CheckSettings(),
    overwrite: bool = False,
    progress: ProgressCallback = silent,
) -> CheckResult:
    """Check the generated `shot` (video or frame folder) against `scene`; write the report to `out_dir`.

    `render` is the shot directory (`splatcine render`) that conditioned the shot: its cameras are
    what the shot was asked to follow. With `out_dir` None nothing is written.
    """
    out_dir = None if out_dir is None else Path(out_dir)
    scene = scene if isinstance(scene, Scene) else load_scene(Path(scene))
    inputs = [Path(shot), scene.root] + ([Path(render)] if render is not None else [])
    if out_dir is not None:  # before any work: a user's folder, or an input, is refused at once
        check_output_dir(out_dir, overwrite, CHECK_KIND, inputs)
    requested = _requested_cameras(render) if render is not None else None
    gaussians = _gaussians(scene)
    with tempfile.TemporaryDirectory(prefix="splatcine-check-") as work:
        t = time.perf_counter()
        located = localise(scene, Path(shot), Path(work), settings=settings.register, progress=progress)
        seconds = {"localise": time.perf_counter() - t}
        result = assess(scene, gaussians, located, requested, settings, progress)
    result.seconds = seconds | result.seconds
    if out_dir is not None:
        from splatcine.check import report

        t = time.perf_counter()
        with atomic_directory(out_dir, overwrite=overwrite, kind=CHECK_KIND, inputs=inputs) as tmp:
            report.write_report(tmp, result, located.frames, settings)
            # the kind lets a later `check --overwrite` replace this report, and only this kind
            (tmp / MANIFEST).write_text(json.dumps({"kind": CHECK_KIND, "scene": str(scene.root),
                                                    "shot": str(shot), "version": __version__}, indent=2))
        result.seconds["write"] = time.perf_counter() - t
        result.out_dir = out_dir
    return result


def assess(scene: Scene, gaussians, located: Localised, requested: list[Camera] | None,
           settings: CheckSettings, progress: ProgressCallback = silent) -> CheckResult:
    """Adherence, consistency and the verdict for a localised shot (what `check` does after `localise`)."""
    reg = located.registration
    count = len(located.frames)
    compared = compare(gaussians, reg.cameras, located.frames, scene.cameras, backend=settings.backend,
                       progress=progress)
    scores, changes = compared.scores, compared.changes
    adh = None
    if requested is not None:  # a doubtful placement says nothing about where the camera went
        trusted = [None if i in compared.doubtful else c for i, c in enumerate(reg.cameras)]
        adh = adherence(trusted, requested_for(requested, count))

    frames = [FrameCheck(i, reg.cameras[i], reg.inliers[i], reg.reprojection_px[i], scores.get(i))
              for i in range(count)]
    judged = [s for s in scores.values() if s.psnr is not None and s.compared >= MIN_COMPARED]
    psnr = float(np.mean([min(s.psnr, 99.0) for s in judged])) if judged else None
    ssim = float(np.mean([s.ssim for s in judged])) if judged else None
    findings, notes = _verdict(located, adh, scores, psnr, changes, settings)
    if compared.doubtful:
        worst = max(compared.doubtful.values())
        notes.append(f"frames {_ranges(sorted(compared.doubtful))} were placed off the path the other frames "
                     f"follow (up to {worst:.0f} px) and were not compared: their cameras are doubtful")
    return CheckResult(located.shot, not findings, findings, frames, changes, adh, reg.focal_px, psnr, ssim,
                       notes, compared.seconds, renders=compared.renders, error_maps=compared.errors,
                       doubtful=sorted(compared.doubtful))


@dataclass
class Comparison:
    """The placed frames of a shot against the splat rendered at their cameras."""

    scores: dict[int, FrameScore]  # frame index -> its score (placed frames only)
    changes: list[ChangeRegion]
    renders: np.ndarray  # [F, H, W, 3] uint8, 0 where unplaced
    errors: np.ndarray  # [F, H, W] float32 error maps in 0-1, 0 where not compared
    doubtful: dict[int, float] = field(default_factory=dict)  # placed off the shot's path: frame -> jump px
    seconds: dict[str, float] = field(default_factory=dict)


def compare(gaussians, cameras: list[Camera | None], frames: list[np.ndarray], source_cameras: list[Camera], *,
            backend: str = "auto", progress: ProgressCallback = silent) -> Comparison:
    """Render the splat at each placed camera (None: not placed) and score the frame [H, W, 3] uint8
    there, where the `source_cameras` (the scene's shot) saw the set well; link the changed regions."""
    from splatcine.render import render_cameras

    seconds = {}
    t = time.perf_counter()
    placed = [i for i, c in enumerate(cameras) if c is not None]
    rendered = render_cameras(gaussians, [cameras[i] for i in placed], source_cameras, backend=backend,
                              progress=progress)
    seconds["render"] = time.perf_counter() - t

    t = time.perf_counter()
    scores: dict[int, FrameScore] = {}
    regions: list[list | None] = [None] * len(frames)
    errors = np.zeros((len(frames), *frames[0].shape[:2]), np.float32)
    renders = np.zeros((len(frames), *frames[0].shape), np.uint8)
    covered = rendered.alpha > 0.5
    depth = float(np.median(rendered.depth[covered])) if covered.any() else 1.0  # turns offsets into px
    doubtful = consistency.doubtful_placements(cameras, depth)
    for n, i in enumerate(placed):
        renders[i] = rendered.color[n]
        if i in doubtful:  # a misplaced frame shows every edge as a change: not compared, and chains break
            progress(Progress("compare", n + 1, len(placed)))
            continue
        observed = consistency.observed_space(rendered.depth[n], cameras[i], source_cameras)
        sigma = consistency.splat_sigma(gaussians, cameras[i], backend)
        score, error, _ = consistency.score_frame(frames[i], rendered.color[n], rendered.alpha[n],
                                                  rendered.unseen[n], observed, sigma)
        scores[i], errors[i] = score, error
        regions[i] = consistency.frame_regions(error) if score.compared >= MIN_COMPARED else []
        progress(Progress("compare", n + 1, len(placed)))
    changes = consistency.changed_regions(regions)
    seconds["compare"] = time.perf_counter() - t
    return Comparison(scores, changes, renders, errors, doubtful, seconds)


def _verdict(located: Localised, adh: Adherence | None, scores: dict[int, FrameScore], psnr: float | None,
             changes: list[ChangeRegion], settings: CheckSettings) -> tuple[list[Finding], list[str]]:
    findings, notes = [], []
    count = len(located.frames)
    unplaced = located.registration.unplaced
    if count - len(unplaced) < settings.min_placed * count:
        findings.append(Finding("unplaced", f"{len(unplaced)} of {count} frames could not be placed in the set "
                                            f"(frames {_ranges(unplaced)})"))
    elif unplaced:
        notes.append(f"frames {_ranges(unplaced)} could not be placed in the set and were not compared")
    if adh is not None and adh.max_centre_error is not None:
        limit = settings.max_camera_error
        if adh.max_centre_error > limit or adh.max_rotation_error_deg > settings.max_rotation_deg:
            worst = int(np.nanargmax([np.nan if v is None else v for v in adh.centre_error]))
            findings.append(Finding(
                "camera", f"the camera did not follow the requested path: up to {adh.max_centre_error:.1f} "
                          f"{adh.unit} off (frame {worst}) and {adh.max_rotation_error_deg:.1f} degrees "
                          f"(limits {limit:g} and {settings.max_rotation_deg:g})"))
    coarse = sorted(i for i, s in scores.items() if s.coarse >= consistency.MIN_REGION)
    if coarse:  # as large as a reportable change: one there would go unreported
        worst = max(scores[i].coarse for i in coarse)
        notes.append(f"frames {_ranges(coarse)} show parts of the set the splat renders too coarsely to judge "
                     f"(up to {worst:.0%} of a frame, not compared): a change there would go unreported")
    if psnr is None:
        notes.append("no frame shows enough of the set the scene saw well: consistency cannot be judged")
    elif psnr < settings.min_psnr:
        findings.append(Finding("consistency", f"the frames differ from the set: masked PSNR {psnr:.1f} dB "
                                               f"(at least {settings.min_psnr:g} wanted)"))
    for change in changes:
        x0, y0, x1, y1 = change.boxes[change.first]
        findings.append(Finding("changed", f"the set changed here: frames {change.first}-{change.last}, "
                                           f"at x {x0}-{x1}, y {y0}-{y1} in frame {change.first}"))
    return findings, notes


def _requested_cameras(render: Path | str) -> list[Camera]:
    from splatcine.render.files import CAMERAS, read_cameras_json

    path = Path(render)
    if not path.is_dir():
        raise InputError(f"{path}: no such shot directory (--render takes what `splatcine render` wrote)")
    cameras, _ = read_cameras_json(path / CAMERAS)
    if not cameras:
        raise InputError(f"{path / CAMERAS}: no cameras")
    return cameras


def _gaussians(scene: Scene):
    if scene.splat_path is None:
        raise InputError(f"{scene.root}: the scene has no splat.ply yet (run `splatcine train` first)")
    from splatcine.io.ply import read_gaussians_ply

    return read_gaussians_ply(scene.splat_path)


def _ranges(values: list[int]) -> str:
    from splatcine.scene import _ranges as ranges

    return ranges(values)
