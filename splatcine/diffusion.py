"""Run a video diffusion model on a rendered shot: the only module that imports diffusers.

Models come from the user's disk (`local_files_only=True`): nothing is downloaded. A
model directory is what `DiffusionPipeline.save_pretrained` writes (a `model_index.json`
naming `WanVACEPipeline`, and one folder per component). The pipeline runs on the GPU
when there is one (bfloat16) and on the CPU otherwise (float32: fine for tiny test
models, far too slow for the real 1.3B/14B ones).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch

from splatcine.atomic import atomic_file
from splatcine.errors import InputError, MissingDependencyError
from splatcine.progress import Progress, ProgressCallback, silent

PIPELINE_CLASS = "WanVACEPipeline"
GENERATED = "generated"  # folder inside the shot directory


@dataclass(frozen=True)
class GenerateResult:
    video_path: Path  # SHOT_DIR/generated/seed-<seed>.mp4
    settings_path: Path  # the same name with .json: seed, prompt, steps, model, versions
    num_frames: int
    height: int
    width: int
    seed: int


def load_wan_vace(model_dir: Path | str, device: str | None = None):
    """A `WanVACEPipeline` from a local directory, on `device` (default: CUDA when present)."""
    model_dir = Path(model_dir)
    diffusers = _diffusers()
    if not model_dir.is_dir():
        raise InputError(f"{model_dir}: no such model directory")
    index = model_dir / "model_index.json"
    if not index.is_file():
        raise InputError(f"{model_dir}: not a diffusers model directory (no model_index.json)")
    try:
        doc = json.loads(index.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"{index}: not valid JSON ({err})") from None
    if not isinstance(doc, dict):
        raise InputError(f"{index}: a JSON object with _class_name is expected, not a {type(doc).__name__}")
    kind = doc.get("_class_name")
    if kind != PIPELINE_CLASS:
        raise InputError(f"{index}: _class_name is {kind!r}, not a {PIPELINE_CLASS} model")
    device = check_device(device)
    dtype = torch.bfloat16 if str(device).startswith("cuda") else torch.float32
    diffusers.utils.logging.disable_progress_bar()  # progress reaches the caller as events instead
    try:
        pipe = diffusers.WanVACEPipeline.from_pretrained(model_dir, local_files_only=True, **_dtype_kwarg(dtype))
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise InputError(f"{model_dir}: the model could not be loaded ({type(err).__name__}: "
                         f"{str(err).splitlines()[0] if str(err) else ''})") from None  # fmt: skip
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device)


def check_device(device: str | None) -> str:
    """`device` as torch spells it, checked against this machine (default: CUDA when present)."""
    if device is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        parsed = torch.device(device)
    except (RuntimeError, ValueError):
        raise InputError(f"--device {device!r}: not a torch device (cpu, cuda, cuda:N)") from None
    if parsed.type not in ("cpu", "cuda"):
        raise InputError(f"--device {device!r}: generate runs on cpu or cuda")
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"--device {device!r}: this torch ({torch.__version__}) sees no CUDA device")
    if parsed.type == "cuda" and (parsed.index or 0) >= torch.cuda.device_count():
        raise InputError(f"--device {device!r}: there are only {torch.cuda.device_count()} CUDA device(s)")
    return str(parsed)


def _check_settings(steps: int, guidance_scale: float, num_frames: int | None, height: int | None,
                    width: int | None) -> None:  # fmt: skip
    """Refuse what the model would silently change or choke on (sides are cut down to x16)."""
    if steps < 1:
        raise InputError(f"--steps must be at least 1, got {steps}")
    if not math.isfinite(guidance_scale) or guidance_scale < 0:
        raise InputError(f"--guidance must be a finite number >= 0, got {guidance_scale}")
    if num_frames is not None and num_frames < 1:
        raise InputError(f"--frames must be at least 1, got {num_frames}")
    for name, side in (("--height", height), ("--width", width)):
        if side is not None and side < 16:
            raise InputError(f"{name} must be at least 16 pixels (sides are cut down to multiples of 16), "
                             f"got {side}")  # fmt: skip


def generate(
    shot_dir: Path | str,
    model_dir: Path | str,
    prompt: str,
    *,
    negative_prompt: str = "",
    seed: int = 0,
    steps: int = 30,
    guidance_scale: float = 5.0,
    num_frames: int | None = None,
    height: int | None = None,
    width: int | None = None,
    device: str | None = None,
    overwrite: bool = False,
    progress: ProgressCallback = silent,
) -> GenerateResult:
    """Run Wan VACE on the shot's conditioning; write `generated/seed-<seed>.mp4` and its settings.

    An earlier result of the same seed is replaced only with `overwrite`.
    """
    from splatcine.condition import Bundle
    from splatcine.io.video import write_video

    _check_settings(steps, guidance_scale, num_frames, height, width)
    device = check_device(device)
    folder = Path(shot_dir) / GENERATED
    video_path, settings_path = folder / f"seed-{seed}.mp4", folder / f"seed-{seed}.json"
    if video_path.exists() and not overwrite:
        raise InputError(f"{video_path}: already generated with this seed (pass --overwrite to replace it, "
                         f"or choose another --seed)")  # fmt: skip
    bundle = Bundle.load(shot_dir)
    pipe = load_wan_vace(model_dir, device)
    kwargs = bundle.to_wan_vace(num_frames, height, width)

    def on_step(_pipe, step: int, _timestep, callback_kwargs: dict) -> dict:
        progress(Progress("generate", step + 1, steps))
        return callback_kwargs

    generator = torch.Generator(device="cpu").manual_seed(seed)
    out = pipe(prompt=prompt, negative_prompt=negative_prompt, num_inference_steps=steps,
               guidance_scale=guidance_scale, generator=generator, output_type="np",
               callback_on_step_end=on_step, **kwargs)  # fmt: skip
    frames = (np.clip(np.asarray(out.frames[0], dtype=np.float32), 0, 1) * 255 + 0.5).astype(np.uint8)
    with atomic_file(video_path) as tmp:
        write_video(tmp, frames, fps=bundle.shot.fps)
    settings: dict[str, Any] = {
        "model": str(Path(model_dir).resolve()), "pipeline": PIPELINE_CLASS, "prompt": prompt,
        "negative_prompt": negative_prompt, "seed": seed, "steps": steps,
        "guidance_scale": guidance_scale, "num_frames": int(frames.shape[0]),
        "height": int(frames.shape[1]), "width": int(frames.shape[2]), "fps": bundle.shot.fps,
        "device": str(pipe.device), "dtype": str(pipe.transformer.dtype),
        "references": bundle.shot.reference_names,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": {"diffusers": _diffusers().__version__, "torch": torch.__version__},
    }  # fmt: skip
    with atomic_file(settings_path) as tmp:
        tmp.write_text(json.dumps(settings, indent=2))
    return GenerateResult(video_path, settings_path, *frames.shape[:3], seed)


def _dtype_kwarg(dtype: torch.dtype) -> dict[str, torch.dtype]:
    """diffusers 0.36 renamed `torch_dtype` to `dtype` (the old name warns)."""
    from packaging.version import Version

    new = Version(_diffusers().__version__).release >= (0, 36)
    return {"dtype" if new else "torch_dtype": dtype}


def _diffusers():
    try:
        import diffusers
    except ImportError:
        raise MissingDependencyError(
            "splatcine generate needs diffusers (pip install 'splatcine[diffusion]')"
        ) from None
    return diffusers
