"""Does the camera move? What the matches say before mapping, on every clip of the SfM corpus.

Per case of `bench_sfm` (the shared clips when present, and the procedural ones): the keyframes
`ingest` keeps, whole frames (no masks), SIFT and sequential matching as `run_sfm` does them
(`splatcine.sfm.match_shot`), then the two figures that refuse a camera that does not move
through the set before any mapping: the parallax no homography explains
(`SfmSettings.min_pair_parallax_deg`) and the share of matches one camera rotation explains
between distant frames (`SfmSettings.max_rotation_share`), and where a part of the frame holds
still while the rest moves, how much of it lies around the frame's edges (a still camera's set
framing a mover: `SfmSettings.still_edge_share`). The summary states the margin each
threshold leaves: the lowest figure of a shot that moves against the highest of one that does not.

    .venv/bin/python -m benchmarks.bench_rotation [--only SUBSTR]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_sfm import DATA, _materialise, corpus, named, procedural

RESULTS = Path(__file__).parent / "results" / "rotation.json"


def measure(case, work: Path) -> dict:
    from splatcine.errors import SplatcineError
    from splatcine.ingest import IngestSettings, ingest
    from splatcine.io.video import write_image
    from splatcine.sfm import SfmSettings, is_geometric_cut, match_shot
    from splatcine.sfm.colmap import is_still_camera

    shot, _ = _materialise(case, work)
    ingest_options = {k: v for k, v in case.options.items() if k in ("max_frames", "max_image_size")}
    t = time.perf_counter()
    try:
        frames = ingest(shot, settings=IngestSettings(**ingest_options), confirm_cut=is_geometric_cut)
    except SplatcineError as err:
        return {"refused_at_ingest": str(err)[:160], "seconds": round(time.perf_counter() - t, 1)}
    images = work / "images"
    images.mkdir()
    for i, frame in enumerate(frames.frames):
        write_image(images / f"frame_{i:05d}.png", frame)
    geometry = match_shot(images, work / "colmap", settings=SfmSettings(unordered=frames.is_folder))
    return {"keyframes": len(frames.frames), "parallax_deg": round(geometry.parallax_deg, 3),
            "rotation_share": round(geometry.rotation_share, 3), "rotation_deg": round(geometry.rotation_deg, 2),
            "edge_share": round(geometry.edge_share, 3), "still_camera": is_still_camera(geometry, SfmSettings()),
            "seconds": round(time.perf_counter() - t, 1)}


def _geometry(row: dict):
    """A row's figures as the `ShotGeometry` they were measured as (without the pairs)."""
    from splatcine.sfm.pairs import ShotGeometry

    return ShotGeometry(row["parallax_deg"], row["rotation_share"], [], row["rotation_deg"], row["edge_share"])


def summary(rows: dict[str, dict]) -> dict:
    from splatcine.sfm import SfmSettings
    from splatcine.sfm.colmap import has_still_part

    settings = SfmSettings()
    moving = [r for r in rows.values() if r["expect"] == "posed" and "rotation_share" in r]
    still = [r for r in rows.values() if r["expect"] == "refused" and "rotation_share" in r]
    out = {"max_rotation_share": settings.max_rotation_share, "min_pair_parallax_deg": settings.min_pair_parallax_deg}
    if moving:
        top = max(moving, key=lambda r: r["rotation_share"])
        out["moving_highest_rotation_share"] = [top["case"], top["rotation_share"]]
        low = min(moving, key=lambda r: r["parallax_deg"])
        out["moving_lowest_parallax_deg"] = [low["case"], low["parallax_deg"]]

    def refused(r: dict) -> bool:
        return (r["rotation_share"] > settings.max_rotation_share or r["parallax_deg"] < settings.min_pair_parallax_deg
                or r.get("still_camera", False))

    caught = [r for r in still if refused(r)]
    out["negatives_refused_before_mapping"] = sorted(r["case"] for r in caught)
    out["negatives_not_refused"] = sorted(r["case"] for r in still if r not in caught)
    out["moving_refused"] = sorted(r["case"] for r in moving if refused(r))
    out["still_edge_share"] = settings.still_edge_share
    out["edge_share_where_part_holds_still"] = {r["case"]: r["edge_share"] for r in rows.values()
                                                if "edge_share" in r and has_still_part(_geometry(r), settings)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="cases whose name contains this (or any of a comma-separated list)")
    args = parser.parse_args()
    cases = named(procedural() + corpus(), args.only)
    if not DATA.exists():
        print(f"{DATA} is absent: procedural cases only", file=sys.stderr)
    doc = json.loads(RESULTS.read_text()) if RESULTS.exists() else {"rows": {}}
    for case in cases:
        with tempfile.TemporaryDirectory() as tmp:
            row = {"case": case.name, "expect": case.expect, **measure(case, Path(tmp)),
                   "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                   "load_avg": [round(x, 1) for x in os.getloadavg()]}
        doc["rows"][case.name] = row
        print(json.dumps(row), flush=True)
        doc["summary"] = summary(doc["rows"])
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(doc, indent=1))
    print(json.dumps(doc["summary"], indent=1))


if __name__ == "__main__":
    main()
