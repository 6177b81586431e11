"""SfM benchmark: `splatcine reconstruct` beside plain COLMAP (both mappers) on every clip we have.

Cases: every clip of /work/shared/data (when present; see its README) and procedural
shots with known cameras (`scenes`), one for each way a front end goes wrong: a forward
dolly that does not constrain the focal length, repeated frames, a dominant textured
plane with one object, a photo-folder capture, a long 300-frame shot, plus a pan and a
static camera that must be refused.

Per case and method: frames registered, focal length (x the long image side), and
where poses exist the camera-centre error after a Sim(3) alignment (ATE, % of path
length) and the relative rotation error (mean over all frame pairs, and over
consecutive frames as data/README.md quotes it); for splatcine also its verdict (posed,
or the one-line refusal), the mapper it chose and why, and the focal range it reports.

Plain COLMAP is pycolmap with its defaults, as a user would run it on a clip: frames at
a stride that leaves about 60 (every frame of a short clip), the long side at most 960
px (the frames splatcine sees), SIFT, one camera per image size (`CameraMode.AUTO`),
sequential matching for videos and exhaustive for photo folders, then the incremental
and the global mapper on the same matches, no seeds, no checks.

Each (case, method) runs in its own process with a time limit; rows are merged into
`benchmarks/results/sfm.json` by (case, method), so `--method` / `--only` re-measure a
part and keep the rest (and a row measured with an older splatcine can stay beside the
new one under `--label`).

    .venv/bin/python -m benchmarks.bench_sfm [--quick] [--only SUBSTR] [--method plain|splatcine]
                                             [--label NAME] [--timeout S]
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

DATA = Path(os.environ.get("SPLATCINE_DATA", "/work/shared/data"))
RESULTS = Path(os.environ.get("SPLATCINE_BENCH_RESULTS", Path(__file__).parent / "results" / "sfm.json"))
PLAIN_FRAMES = 60  # plain COLMAP's stride leaves about this many frames (the usual recipe for a clip)
IMAGE_SIZE = 960  # long side of the frames both methods see (splatcine's default --max-image-size)

# The done-criterion of issue 9, applied per case by `verdict`:
WORKS_REGISTERED = 0.75  # plain COLMAP "works" on a clip when it registers at least this fraction ...
WORKS_ERROR_PCT = 2.0  # ... with a centre error under this (% of path length), where poses exist
WORSE_FACTOR = 1.5  # splatcine fails the case when its centre error is over this x plain COLMAP's


@dataclass
class Case:
    name: str
    shot: str  # a video or a folder; procedural shots are rendered into the work dir first
    expect: str  # "posed" | "refused" (a negative) | "cut" (refused, naming the cuts)
    group: str = "corpus"  # "corpus" | "procedural"
    truth: str = ""  # where the reference cameras come from (empty: none)
    options: dict = field(default_factory=dict)  # extra reconstruct() arguments
    folder: bool = False  # an unordered photo folder: plain COLMAP matches exhaustively
    note: str = ""


def corpus() -> list[Case]:
    """Every clip of data/README.md, with what a good front end should do with it."""
    d = DATA
    cases = []
    for clip in sorted((d / "re10k_cameractrl" / "real").glob("*.mp4")):
        cases.append(Case(f"re10k {clip.stem[:7]} (real)", str(clip), "posed", truth=f"re10k:{clip.stem}"))
    for gif in sorted((d / "re10k_cameractrl" / "generated").glob("*.gif")):
        cases.append(Case(f"cameractrl {gif.name[:7]} (generated)", str(gif), "posed",
                          truth=f"re10k:{gif.name.split('_')[0]}_svdxt", note="poses are the commanded path"))
    for clip in sorted((d / "re10k_dupframes").glob("*.mp4")):
        cases.append(Case(f"dupframes {clip.stem[:7]} {clip.stem.split('_')[1]}", str(clip), "posed",
                          truth=f"dup:{clip.stem}"))
    cases += [
        Case("rotation_only_warp", f"{d}/rotation_only_warp/rotation_only_warp.mp4", "refused",
             truth="rotation_only"),
        Case("bikes (5 cuts)", f"{d}/cuts/bikes.mp4", "cut"),
        Case("tokyo_jumpcut", f"{d}/tokyo_jumpcut/tokyo_jumpcut.mp4", "either",
             note="a jump cut inside one location: one set of cameras can span it"),
        Case("tokyo walk (generated)", f"{d}/vda_examples/Tokyo-Walk_rgb.mp4", "posed"),
        Case("davis rollercoaster", f"{d}/vda_examples/davis_rollercoaster.mp4", "refused",
             note="hand-held from one spot: rotation-dominant"),
        Case("davis lady running", f"{d}/davis_lady_running/lady-running.mp4", "posed"),
        Case("cat (static phone)", f"{d}/cat_phone_static/cat.mp4", "refused"),
        Case("train running (static)", f"{d}/cogvideox_v2v_inputs/train_running.mp4", "refused"),
        Case("kitten (static)", f"{d}/cogvideox_v2v_inputs/kitten.mp4", "refused"),
        Case("chair (generated static)", f"{d}/videocrafter_static/chair.gif", "refused"),
        Case("springtime dolly (generated)", f"{d}/dynamicrafter_dolly/springtime_landscape.gif", "posed"),
        Case("motionctrl dog (generated)", f"{d}/motionctrl_videocrafter/MotionCtrl_dog_0.mp4", "posed"),
        Case("bedroom dolly (real frames)", f"{d}/viewcrafter_bedroom/frames", "posed"),
    ]
    for scene in ("pagoda", "castle", "palms"):
        cases.append(Case(f"motionctrl {scene} (generated)", f"{d}/motionctrl_videocrafter/camera_{scene}.gif",
                          "posed"))
    for folder in ("british_museum", "statue", "cake", "kitchen_1280"):
        cases.append(Case(f"photos {folder}", f"{d}/vggsfm_photos/{folder}", "posed", folder=True))
    cases.append(Case("capybara orbit (generated)", f"{d}/dimensionx_orbit/360_capybara.mp4", "posed",
                      options={"max_frames": 70, "max_image_size": 640}))  # the data README's setting
    first = ("re10k", "dupframes", "rotation", "cat", "train", "kitten", "chair", "davis roll", "cameractrl",
             "springtime", "motionctrl", "photos", "bedroom", "bikes", "tokyo_jump", "davis lady", "tokyo walk")
    rank = {c.name: next((i for i, p in enumerate(first) if c.name.startswith(p)), len(first)) for c in cases}
    # the cases with known poses and the negatives first: a run cut short still measures what matters
    return sorted((c for c in cases if Path(c.shot).exists()), key=lambda c: rank[c.name])


def procedural() -> list[Case]:
    """Shots rendered by `scenes` with known cameras, one per failure class of issue 9."""
    return [
        Case("proc orbit", "orbit:32", "posed", "procedural", "scene"),
        Case("proc dolly with a pan", "dolly:32", "posed", "procedural", "scene"),
        Case("proc forward dolly (focal unconstrained)", "forward:32", "posed", "procedural", "scene"),
        Case("proc repeated frames x3", "repeated:24", "posed", "procedural", "scene"),
        Case("proc dominant plane + object", "tabletop:32", "posed", "procedural", "scene"),
        Case("proc photo folder", "photos:24", "posed", "procedural", "scene", folder=True),
        Case("proc long 300 frames", "long:300", "posed", "procedural", "scene"),
        Case("proc pan (rotation only)", "pan:32", "refused", "procedural", "scene"),
        Case("proc static", "static:16", "refused", "procedural", "scene"),
        Case("proc pan after movers", "chase:32", "refused", "procedural", "scene"),
        Case("proc still camera, passing train", "passing:32", "refused", "procedural", "scene"),
        Case("proc tracking shot (walker keeps pace)", "follow:32", "posed", "procedural", "scene",
             note="the passing train's signature, and the cameras from the room are right"),
    ]


def named(cases: list[Case], only: str) -> list[Case]:
    """The cases whose name contains `only` or any part of it, a comma-separated list ("" keeps all)."""
    return [c for c in cases if any(part in c.name for part in only.split(","))]


# --- reference cameras -------------------------------------------------------------------------


def re10k_cameras(pose_file: Path) -> np.ndarray:
    """[N, 4, 4] cam_from_world of a RealEstate10K pose file (3x4 after 7 numbers per line)."""
    rows = [line.split() for line in pose_file.read_text().splitlines()[1:] if line.strip()]
    out = np.tile(np.eye(4), (len(rows), 1, 1))
    for i, row in enumerate(rows):
        out[i, :3, :] = np.array(row[7:19], dtype=np.float64).reshape(3, 4)
    return out


def re10k_focal_ratio(pose_file: Path, width: int = 576, height: int = 320) -> float:
    """Published focal / long side for frames resized to cover `width` x `height` and centre-cropped."""
    fx_normalised = float(pose_file.read_text().splitlines()[1].split()[1])
    return fx_normalised * 16.0 * max(width / 16.0, height / 9.0) / max(width, height)


def reference(case: Case, clip=None) -> tuple[np.ndarray | None, float | None]:
    """(cam_from_world [N, 4, 4] per source frame, true focal / long side) or (None, None)."""
    kind, _, key = case.truth.partition(":")
    if kind == "re10k":
        pose = DATA / "re10k_cameractrl" / "poses" / f"{key}.txt"
        return re10k_cameras(pose), re10k_focal_ratio(pose)
    if kind == "dup":
        pose = DATA / "re10k_dupframes" / "poses" / f"{key.split('_')[0]}_svdxt.txt"
        frame_map = DATA / "re10k_dupframes" / f"{key}_frames.txt"
        rows = [line.split() for line in frame_map.read_text().splitlines() if line and not line.startswith("#")]
        source = [int(r[1]) for r in sorted(rows, key=lambda r: int(r[0]))]
        return re10k_cameras(pose)[source], re10k_focal_ratio(pose)
    if kind == "rotation_only":
        rows = [line.split() for line in (DATA / "rotation_only_warp" / "cameras.txt").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
        out = np.tile(np.eye(4), (len(rows), 1, 1))
        for i, row in enumerate(rows):
            out[i, :3, :] = np.array(row[5:17], dtype=np.float64).reshape(3, 4)
        return out, float(rows[0][1]) / 640.0
    if kind == "scene" and clip is not None:
        k = clip.cameras[0].intrinsics
        return np.stack([c.cam_from_world for c in clip.cameras]), k.fx / max(k.width, k.height)
    return None, None


def _errors(row: dict, cameras: list[np.ndarray], sources: list[int], ref: np.ndarray | None) -> None:
    from splatcine.sfm import path_length, pose_errors

    if ref is None:
        return
    use = [i for i, s in enumerate(sources) if s < len(ref)]
    if len(use) < 3:
        return
    est, truth = np.stack([cameras[i] for i in use]), ref[[sources[i] for i in use]]
    errors = pose_errors(est, truth)
    centres = -np.einsum("nji,nj->ni", truth[:, :3, :3], truth[:, :3, 3])
    if path_length(centres) > 1e-9:  # a pure rotation has no path to measure centres against
        row["centre_error_pct"] = errors.centre_error_pct
    row.update(rotation_error_deg=errors.rotation_error_deg, step_rotation_error_deg=errors.step_rotation_error_deg)


# --- the two methods ----------------------------------------------------------------------------


def _materialise(case: Case, work: Path):
    """(the shot to hand over, the procedural clip or None)."""
    if case.group != "procedural":
        return Path(case.shot), None
    from scenes.cases import make_case_clip

    name, _, frames = case.shot.partition(":")
    clip = make_case_clip(name, work / "clip", frames=int(frames))
    return clip.shot_path, clip


def run_splatcine(case: Case, work: Path) -> dict:
    from splatcine.errors import SplatcineError
    from splatcine.reconstruct import reconstruct

    shot, clip = _materialise(case, work)
    ref, _ = reference(case, clip)
    t = time.perf_counter()
    row: dict = {}
    try:
        result = reconstruct(shot, work / "scene", sfm_only=True, overwrite=True, **case.options)
    except SplatcineError as err:
        row.update(seconds=time.perf_counter() - t, refused=str(err))
        return row
    report = result.report
    row.update(seconds=time.perf_counter() - t, stages=report.seconds, mapper=report.mapper,
               frames_read=report.frames_read, kept=report.frames_kept, registered=report.frames_registered,
               reprojection_px=report.mean_reprojection_px, points=report.points,
               focal_ratio=report.focal_px / max(result.scene.frames[0].camera.intrinsics.width,
                                                  result.scene.frames[0].camera.intrinsics.height),
               warnings=report.warnings, attempts=report.mapper_attempts)
    for key in ("focal_range_px", "focal_fit_px", "mapper_reason", "mapper_agreement", "duplicates", "jumps",
                "masks", "masks_feature_fraction"):  # newer reports only
        if getattr(report, key, None) is not None:
            row[key] = getattr(report, key)
    if getattr(report, "masked_fraction", None):  # the share of each kept frame the automatic masks took
        row["masked_fraction_mean"] = float(np.mean(list(report.masked_fraction.values())))
    frames = result.scene.frames
    _errors(row, [f.camera.cam_from_world for f in frames], [f.source_frame for f in frames], ref)
    row["candidates"] = {}
    # every trusted model (both mappers'), to check the choice against the truth
    candidates = {lb: m.cameras() for lb, m in result.sfm.candidates.items()} if getattr(result, "sfm", None) else {}
    for label, cameras in candidates.items():
        names = sorted(cameras)
        sub = {"registered": len(names), "focal_ratio": cameras[names[0]].intrinsics.fx / max(
            cameras[names[0]].intrinsics.width, cameras[names[0]].intrinsics.height)}
        _errors(sub, [cameras[n].cam_from_world for n in names], [int(n[6:11]) for n in names], ref)
        row["candidates"][label] = sub
    return row


def run_plain(case: Case, work: Path) -> dict:
    """Plain COLMAP, both mappers, on the frames a user would give it (see the module doc)."""
    from PIL import Image

    from splatcine.io.video import iter_frames, probe_video, write_image
    from splatcine.sfm import plain_colmap_mappers

    shot, clip = _materialise(case, work)
    ref, _ = reference(case, clip)
    images = work / "images"
    images.mkdir(parents=True)
    count = probe_video(shot).frame_count or 0
    stride = max(1, math.ceil(count / PLAIN_FRAMES))
    written = 0
    for i, frame in enumerate(iter_frames(shot)):
        if i % stride:
            continue
        h, w = frame.shape[:2]
        scale = min(1.0, IMAGE_SIZE / max(h, w))
        if scale < 1.0:
            frame = np.asarray(Image.fromarray(frame).resize((round(w * scale), round(h * scale)), Image.LANCZOS))
        write_image(images / f"frame_{i:05d}.png", frame)
        written += 1
    t = time.perf_counter()
    models = plain_colmap_mappers(images, work / "colmap", exhaustive=case.folder)
    row: dict = {"seconds": time.perf_counter() - t, "frames_read": count, "kept": written, "stride": stride}
    for mapper, model in models.items():
        sub: dict = {}
        if model is None:
            sub["failed"] = "no model"
        else:
            stats = model.stats()
            cameras = model.cameras()
            names = sorted(cameras)
            sub.update(registered=stats.registered, points=stats.points, reprojection_px=stats.mean_reprojection_px,
                       focal_ratio=stats.focal_ratio)
            _errors(sub, [cameras[n].cam_from_world for n in names], [int(n[6:11]) for n in names], ref)
        row[mapper] = sub
    return row


# --- verdicts and the table --------------------------------------------------------------------


def plain_works(plain: dict, mapper: str) -> bool:
    sub = plain.get(mapper, {})
    if "registered" not in sub or sub["registered"] < WORKS_REGISTERED * plain["kept"]:
        return False
    return sub.get("centre_error_pct", 0.0) < WORKS_ERROR_PCT and sub.get("focal_ratio", 1.0) < 10


def verdict(case: Case, ours: dict | None, plain: dict | None) -> str:
    """Did splatcine meet issue 9's bar on this case? One short line."""
    if ours is None:
        return "not run"
    if "registered" not in ours and "refused" not in ours:
        return "not measured (timed out on the loaded machine)" if "timed_out" in ours else "FAIL: crashed"
    refused = "refused" in ours
    if case.expect in ("refused", "cut"):
        if not refused:
            return "FAIL: posed a negative"
        if "\n" in ours["refused"]:
            return "FAIL: refusal is not one line"
        if case.expect == "cut" and "cut" not in ours["refused"]:
            return "FAIL: refused without naming the cuts"
        return "ok: refused"
    if case.expect == "either":  # a jump inside one location: refusing it as a cut, or posing it, are both right
        return "ok: refused (cut)" if refused and "cut" in ours["refused"] else "ok: posed" if not refused else \
            "FAIL: refused for another reason"
    if plain is None:
        return "refused" if refused else "posed"
    working = [m for m in ("incremental", "global") if plain_works(plain, m)]
    if refused:
        return f"FAIL: refused where plain {'/'.join(working)} works" if working else "refused (plain fails too)"
    err = ours.get("centre_error_pct")
    best = min((plain[m]["centre_error_pct"] for m in working if "centre_error_pct" in plain[m]), default=None)
    if err is not None and best is not None and err > WORSE_FACTOR * best and err > 0.1:
        return f"FAIL: {err / best:.1f}x plain's error"
    inc = plain.get("incremental", {}).get("centre_error_pct")
    if case.truth.startswith("re10k") and "real" in case.name and err is not None and inc is not None and err > inc:
        return f"FAIL: over plain incremental ({err:.2f}% > {inc:.2f}%)"
    return "ok"


def _fmt_plain(sub: dict, kept: int) -> str:
    if not sub or "failed" in sub:
        return "fails"
    if "registered" not in sub:
        return "-"
    parts = [f"{sub['registered']}/{kept}", f"f {sub['focal_ratio']:.2f}"]
    if "centre_error_pct" in sub:
        parts.append(f"{sub['centre_error_pct']:.2f}%")
    if "rotation_error_deg" in sub:
        parts.append(f"{sub['rotation_error_deg']:.2f}°")
    return " ".join(parts)


def _fmt_ours(row: dict | None) -> str:
    if row is None:
        return "-"
    if "registered" not in row and "refused" not in row:
        return "timed out" if "timed_out" in row else "crashed"
    if "refused" in row:
        return "refused: " + row["refused"].split(": ", 1)[-1][:70]
    parts = [f"{row['registered']}/{row['frames_read']}", f"f {row['focal_ratio']:.2f}"]
    if "centre_error_pct" in row:
        parts.append(f"{row['centre_error_pct']:.2f}%")
    if "rotation_error_deg" in row:
        parts.append(f"{row['rotation_error_deg']:.2f}°")
    if row.get("mapper"):
        parts.append(str(row["mapper"]).split()[0])
    return " ".join(parts)


def summarise(doc: dict, cases: list[Case], label: str) -> list[dict]:
    rows = doc.get("rows", {})
    out = []
    for case in cases:
        plain = rows.get(f"{case.name}|plain")
        if plain is not None and "kept" not in plain:  # timed out or crashed: no figures
            plain = None
        ours = rows.get(f"{case.name}|{label}")
        before = rows.get(f"{case.name}|splatcine before")
        ref_focal = None
        try:
            _, ref_focal = reference(case) if case.group == "corpus" else (None, None)
        except OSError:
            pass
        out.append({
            "case": case.name, "expect": case.expect,
            "true_focal_ratio": ref_focal,
            "plain_incremental": _fmt_plain(plain.get("incremental", {}), plain["kept"]) if plain else "-",
            "plain_global": _fmt_plain(plain.get("global", {}), plain["kept"]) if plain else "-",
            "splatcine_before": _fmt_ours(before),
            "splatcine": _fmt_ours(ours),
            "verdict": verdict(case, ours, plain),
        })
    return out


def markdown(summary: list[dict]) -> str:
    lines = ["| clip | plain incremental | plain global | splatcine before | splatcine | verdict |",
             "|---|---|---|---|---|---|"]
    for s in summary:
        focal = f" (f {s['true_focal_ratio']:.2f})" if s.get("true_focal_ratio") else ""
        lines.append(f"| {s['case']}{focal} | {s['plain_incremental']} | {s['plain_global']} | "
                     f"{s['splatcine_before']} | {s['splatcine']} | {s['verdict']} |")
    return "\n".join(lines)


# --- driver -------------------------------------------------------------------------------------


def _one(case_name: str, method: str, out: Path) -> None:
    """Child process: run one (case, method) and write its row to `out`."""
    case = next(c for c in corpus() + procedural() if c.name == case_name)
    with tempfile.TemporaryDirectory() as work:
        row = (run_plain if method == "plain" else run_splatcine)(case, Path(work))
    out.write_text(json.dumps(row, default=float))


def _commit() -> str:
    """The code a row was measured with: the commit, marked "+dirty" when the worktree had changes."""
    root = Path(__file__).parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


@contextlib.contextmanager
def _locked():
    """An exclusive lock on the results file between reading and writing it."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with open(RESULTS.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _load() -> dict:
    try:
        doc = json.loads(RESULTS.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return doc if "rows" in doc else {}  # an older layout: start again


def _save(doc: dict) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    tmp = RESULTS.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=1, default=float))
    tmp.replace(RESULTS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="procedural cases only")
    parser.add_argument("--corpus", action="store_true", help="the clips of the data folder only")
    parser.add_argument("--only", default="", help="cases whose name contains this (or any of a comma-separated list)")
    parser.add_argument("--method", choices=["plain", "splatcine", "all"], default="all")
    parser.add_argument("--label", default="splatcine", help="row label for splatcine's results")
    parser.add_argument("--timeout", type=float, default=1200.0, help="seconds per case and method")
    parser.add_argument("--skip-done", action="store_true",
                        help="keep rows that are already measured (a timed-out or crashed row is measured again)")
    parser.add_argument("--one", nargs=3, metavar=("CASE", "METHOD", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        _one(args.one[0], args.one[1], Path(args.one[2]))
        return
    cases = named(([] if args.corpus else procedural()) + ([] if args.quick else corpus()), args.only)
    if not DATA.is_dir():
        print(f"{DATA} is absent: only the procedural cases run")
    methods = ["plain", "splatcine"] if args.method == "all" else [args.method]
    for n, case in enumerate(cases):
        for method in methods:
            key = f"{case.name}|{'plain' if method == 'plain' else args.label}"
            done = _load().get("rows", {}).get(key)
            if args.skip_done and done is not None and "timed_out" not in done and "crashed" not in done:
                continue
            print(f"[{n + 1}/{len(cases)}] {case.name}: {method}", flush=True)
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / "row.json"
                started = time.perf_counter()
                try:
                    subprocess.run([sys.executable, "-m", "benchmarks.bench_sfm", "--one", case.name, method,
                                    str(out)], cwd=Path(__file__).parent.parent, timeout=args.timeout, check=False)
                    row = json.loads(out.read_text()) if out.exists() else {"crashed": True}
                except subprocess.TimeoutExpired:
                    row = {"timed_out": args.timeout}
                row["wall_seconds"] = time.perf_counter() - started
            row["measured_at"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
            row["commit"], row["load_avg"] = _commit(), [round(x, 1) for x in os.getloadavg()]
            with _locked():  # two runs (plain and splatcine) side by side lost a row to each other
                doc = _load()  # re-read: another run may have added rows meanwhile
                doc.setdefault("rows", {})[key] = row
                _save(doc)
            print("   ", _fmt_plain(row.get("incremental", {}), row.get("kept", 0)) if method == "plain"
                  else _fmt_ours(row) if "crashed" not in row and "timed_out" not in row else row, flush=True)
    all_cases = procedural() + corpus()
    with _locked():
        doc = _load()
        doc["cases"] = {c.name: {"shot": c.shot, "expect": c.expect, "truth": c.truth, "note": c.note}
                        for c in all_cases}
        doc["summary"] = summarise(doc, all_cases, args.label)
        doc["method"] = __doc__.split("\n\n")[2]
        doc["machine"] = "2 shared CPU cores (other work running: times are indicative only)"
        _save(doc)
    print(markdown(doc["summary"]))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
