"""The preview figure: the new path over the set, from above and from the side.

Top view looks down the world up axis with the path's mean viewing direction pointing up
the page; the side view looks from the path's right, with up up. Sparse points keep
their colours, the source shot's cameras are grey, the new path's frustums are coloured
by frame with their frame numbers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from splatcine.atomic import atomic_file
from splatcine.cameras import invert_rigid
from splatcine.paths.build import SampledPath
from splatcine.scene import Scene

MAX_POINTS = 40000
MAX_FRUSTUMS = 14


def write_preview(path: SampledPath, out: Path, scene: Scene | None = None) -> Path:
    """Draw the preview PNG to `out` (written atomically)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    up = path.up / np.linalg.norm(path.up)
    centers = invert_rigid(path.cam_from_world)[:, :3, 3]  # [F, 3]
    forward = path.cam_from_world[:, 2, :3].mean(axis=0)
    depth_axis = forward - (forward @ up) * up
    if np.linalg.norm(depth_axis) < 1e-6:  # looking straight down: any horizontal axis will do
        depth_axis = np.cross(up, [1.0, 0.0, 0.0] if abs(up[0]) < 0.9 else [0.0, 1.0, 0.0])
    depth_axis /= np.linalg.norm(depth_axis)
    right_axis = np.cross(depth_axis, up)
    views = [
        ("top view (looking down)", right_axis, depth_axis, "right", "ahead"),
        ("side view (from the right)", depth_axis, up, "ahead", "up"),
    ]

    points = scene.points if scene is not None else np.zeros((0, 3))
    colors = scene.point_colors if scene is not None else np.zeros((0, 3), np.uint8)
    if len(points) > MAX_POINTS:
        keep = np.random.default_rng(0).choice(len(points), MAX_POINTS, replace=False)
        points, colors = points[keep], colors[keep]
    sources = scene.cameras if scene is not None else []
    source_centers = np.array([c.center for c in sources]).reshape(-1, 3)
    extent = _extent(np.concatenate([centers, source_centers, _core(points)]))
    size = 0.06 * extent

    fig, axes = plt.subplots(1, 2, figsize=(15, 7), constrained_layout=True)
    cmap = plt.get_cmap("viridis")
    drawn = np.unique(
        np.linspace(0, len(path) - 1, min(len(path), MAX_FRUSTUMS)).round().astype(int)
    )
    for ax, (title, a, b, a_name, b_name) in zip(axes, views):

        def project(xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return xyz @ a, xyz @ b

        if len(points):
            ax.scatter(*project(points), s=1.5, c=colors / 255.0, alpha=0.5, linewidths=0, zorder=1)
        for frame in scene.frames if scene is not None else []:
            cam = frame.camera
            ax.plot(
                *project(_frustum(cam.cam_from_world, cam.intrinsics, size * 0.7)),
                color="0.55",
                lw=0.8,
                zorder=2,
            )
            if ax is axes[0]:  # numbered once, where they spread out
                ax.annotate(
                    f"src {frame.source_frame}",
                    project(cam.center),
                    textcoords="offset points",
                    xytext=(-6, -11),
                    fontsize=7,
                    color="0.35",
                    zorder=2,
                )
        if len(source_centers):
            ax.plot(*project(source_centers), color="0.4", lw=1, ls="--", zorder=2)
        ax.plot(*project(centers), color="0.15", lw=1.5, zorder=3)
        labelled: list[np.ndarray] = []
        for i in drawn:
            color = cmap(i / max(1, len(path) - 1))
            ax.plot(
                *project(_frustum(path.cam_from_world[i], path.intrinsics[i], size)),
                color=color,
                lw=1.6,
                zorder=4,
            )
            xy = np.array(project(centers[i]))
            if all(
                np.linalg.norm(xy - other) > 0.04 * extent for other in labelled
            ):  # no stacked labels
                labelled.append(xy)
                ax.annotate(
                    str(i),
                    tuple(xy),
                    textcoords="offset points",
                    xytext=(5, 5),
                    fontsize=8,
                    zorder=6,
                    bbox=dict(boxstyle="round,pad=0.15", fc="white", ec=color, alpha=0.85),
                )
        ax.scatter(
            *project(centers[:1]), marker="o", s=60, color=cmap(0.0), edgecolors="black", zorder=5
        )
        ax.scatter(
            *project(centers[-1:]), marker="s", s=60, color=cmap(1.0), edgecolors="black", zorder=5
        )
        ax.set_title(title)
        ax.set_xlabel(f"{a_name} (scene units)")
        ax.set_ylabel(f"{b_name} (scene units)")
        _frame_view(ax, project, np.concatenate([centers, source_centers, _core(points)]), extent)
        ax.grid(True, alpha=0.3)

    handles = [
        Line2D([], [], color=cmap(0.5), lw=1.6, label="new path: frustums (frame numbers)"),
        Line2D(
            [], [], marker="o", color="black", markerfacecolor=cmap(0.0), ls="", label="first frame"
        ),
        Line2D(
            [], [], marker="s", color="black", markerfacecolor=cmap(1.0), ls="", label="last frame"
        ),
    ]
    if sources:
        handles.append(
            Line2D([], [], color="0.55", lw=1, label=f"source shot cameras ({len(sources)})")
        )
    if len(points):
        handles.append(
            Line2D(
                [],
                [],
                marker=".",
                color="tab:brown",
                ls="",
                label=f"sparse points ({len(scene.points)})",
            )
        )
    axes[0].legend(handles=handles, loc="best", fontsize=8, framealpha=0.9)
    sm = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(0, max(1, len(path) - 1)))
    fig.colorbar(sm, ax=axes, label="frame", shrink=0.8)
    fig.suptitle(
        f"{Path(path.name).name or 'camera path'}: {len(path)} frames at {path.fps:g} fps "
        f"({path.seconds:.2f} s), {path.width}x{path.height}, vertical FOV "
        f"{path.vfov.min():.1f}-{path.vfov.max():.1f} deg"
    )
    out = Path(out)
    with atomic_file(out) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return out


def _frame_view(ax, project, xyz: np.ndarray, extent: float) -> None:
    """Equal-aspect limits around `xyz`, at least half the scene wide (frustums stay in scale)."""
    x, y = project(xyz)
    half = np.maximum([np.ptp(x) / 2, np.ptp(y) / 2], 0.25 * extent) * 1.15
    middle = [(x.max() + x.min()) / 2, (y.max() + y.min()) / 2]
    # explicit limits: stray sparse points outside the core must not shrink the picture
    ax.set_xlim(middle[0] - half[0], middle[0] + half[0])
    ax.set_ylim(middle[1] - half[1], middle[1] + half[1])
    ax.set_aspect("equal", adjustable="box")


def _core(points: np.ndarray) -> np.ndarray:
    """The 2nd and 98th percentile corners of a point cloud (so outliers do not set the scale)."""
    if len(points) < 10:
        return points.reshape(-1, 3)
    return np.percentile(points, [2, 98], axis=0)


def _extent(xyz: np.ndarray) -> float:
    span = float(np.max(np.ptp(xyz, axis=0))) if len(xyz) > 1 else 0.0
    return span if span > 1e-9 else 1.0


def _frustum(cam_from_world: np.ndarray, intrinsics, depth: float) -> np.ndarray:
    """A polyline [N, 3] tracing a camera's pyramid to `depth` (centre, corners, back)."""
    world_from_cam = invert_rigid(cam_from_world)
    k = intrinsics
    corners = np.array([[0, 0], [k.width, 0], [k.width, k.height], [0, k.height]], dtype=np.float64)
    rays = np.column_stack(
        [(corners[:, 0] - k.cx) / k.fx, (corners[:, 1] - k.cy) / k.fy, np.ones(4)]
    )
    ends = (rays * depth / np.linalg.norm(rays, axis=1, keepdims=True)) @ world_from_cam[
        :3, :3
    ].T + world_from_cam[:3, 3]
    c = world_from_cam[:3, 3]
    return np.array(
        [c, ends[0], ends[1], c, ends[2], ends[3], c, ends[0], ends[3], ends[2], ends[1]]
    )
