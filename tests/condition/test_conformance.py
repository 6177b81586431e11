"""Each conditioning folder loaded the way its model's own code loads it.

Every test re-implements the upstream reader's key lines (file and function cited beside
them), loads what splatcine wrote, and checks shapes, value ranges, polarity and cameras
against the shot. Upstream snapshots read: Tencent-Hunyuan/HunyuanWorld-Voyager
(sample_image2video.py, voyager/inference.py, data_engine/create_input.py), nv-tlabs/GEN3C
(cosmos_predict1/diffusion/inference/{data_loader_utils,forward_warp_utils_pytorch,
gen3c_dynamic}.py), hehao13/CameraCtrl af45a7a (inference.py, cameractrl/data/dataset.py),
KwaiVGI/ReCamMaster 39c0dc2 (inference_recammaster.py).
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
from shot_helpers import synthetic_shot
from PIL import Image

from splatcine.cameras import invert_rigid
from splatcine.condition import gen3c, write_formats

cv2 = pytest.importorskip("cv2")  # the readers below are upstream's, and upstream reads with OpenCV


# --- HunyuanWorld-Voyager ------------------------------------------------------------------


def voyager_load_image(path: str, image_size: tuple[int, int]) -> torch.Tensor:
    """voyager/inference.py, HunyuanVideoSampler.load_image: EXR through pyexr, PNG through PIL,
    resized to image_size (H, W), then Normalize(0.5, 0.5) to [-1, 1]."""
    import pyexr

    if path.endswith(".exr"):
        depth = torch.from_numpy(cv2.resize(pyexr.read(path).squeeze(), (image_size[1], image_size[0]),
                                            interpolation=cv2.INTER_LINEAR)).float()  # fmt: skip
        return (depth.unsqueeze(0).repeat(3, 1, 1) - 0.5) / 0.5
    pil_img = Image.open(path)
    pil_img = pil_img.resize((image_size[1], image_size[0]))
    if pil_img.mode == "L":
        pil_img = pil_img.convert("RGB")
    image = np.asarray(pil_img, dtype=np.float32)[:, :, :3] / 255.0
    return (torch.from_numpy(image).permute(2, 0, 1) - 0.5) / 0.5


def create_input_normalisation(depth: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, float, float]:
    """data_engine/create_input.py, create_video_input: per-frame inverse depth by its 2nd/98th
    percentiles, the uncovered pixels filled with the frame's minimum."""
    depth = depth.astype(np.float64).copy()
    depth[mask] = 1 / (depth[mask] + 1e-6)
    depth_values = depth[mask]
    min_percentile = np.percentile(depth_values, 2)
    max_percentile = np.percentile(depth_values, 98)
    depth[mask] = (depth[mask] - min_percentile) / (max_percentile - min_percentile)
    depth[~mask] = depth[mask].min()
    return depth, min_percentile, max_percentile


def test_voyager_folder_loads_as_sample_image2video_reads_it(tmp_path):
    pytest.importorskip("pyexr")
    shot = synthetic_shot(frames=49, width=64, height=48)  # the voyager target: 49 frames, sides of 16
    write_formats(shot, tmp_path, ["voyager"])
    root = str(tmp_path / "voyager")
    video_size = (shot.height, shot.width)  # --video-size H W
    # sample_image2video.py: the paths it builds, for j in range(49)
    ref_images = [(os.path.join(root, "ref_image.png"), os.path.join(root, "ref_depth.exr"))]
    partial_cond = [(os.path.join(root, "video_input", f"render_{j:04d}.png"),
                     os.path.join(root, "video_input", f"depth_{j:04d}.exr")) for j in range(49)]  # fmt: skip
    partial_mask = [os.path.join(root, "video_input", f"mask_{j:04d}.png") for j in range(49)]
    ranges = json.load(open(os.path.join(root, "depth_range.json")))
    assert isinstance(ranges, list) and len(ranges) == 49 and all(len(r) == 2 for r in ranges)

    ref_rgb, ref_depth = (voyager_load_image(p, video_size) for p in ref_images[0])
    np.testing.assert_allclose(ref_rgb.permute(1, 2, 0).numpy(), shot.color[0] / 127.5 - 1.0, atol=1e-6)
    for j in (0, 24, 48):
        rgb, depth = (voyager_load_image(p, video_size) for p in partial_cond[j])
        mask = voyager_load_image(partial_mask[j], video_size)
        assert rgb.shape == depth.shape == mask.shape == (3, shot.height, shot.width)
        covered = shot.unseen[j] < 0.5
        # polarity: the mask is +1 (255) where the set was rendered, -1 (0) where Voyager generates
        assert ((mask[0] > 0).numpy() == covered).all()
        assert (rgb.numpy()[:, ~covered] == -1.0).all()  # black outside the coverage
        np.testing.assert_allclose(rgb.permute(1, 2, 0).numpy()[covered], shot.color[j][covered] / 127.5 - 1.0,
                                   atol=1e-6)  # fmt: skip
        expected, p2, p98 = create_input_normalisation(shot.depth[j], covered)
        assert ranges[j] == pytest.approx([p2, p98], rel=1e-9)
        np.testing.assert_allclose(depth[0].numpy() * 0.5 + 0.5, expected, atol=2e-6)  # float32 EXR
        # polarity: inverse depth, so the near (left) side is bright, the far side dark, near 0..1
        row = depth[0, 0, covered[0]].numpy() * 0.5 + 0.5
        assert row[0] > 0.95 and row[-1] < 0.05 and (np.diff(row) <= 1e-6).all()
    np.testing.assert_allclose(ref_depth.numpy(), voyager_load_image(partial_cond[0][1], video_size).numpy())


# --- GEN3C ---------------------------------------------------------------------------------


def gen3c_load_data_distributed_format(data_dir: str):
    """data_loader_utils.py, load_data_distributed_format."""
    cap = cv2.VideoCapture(os.path.join(data_dir, "rgb.mp4"))
    frames = []
    while True:
        ret, frame = cap.read()
        if not ret:
            break
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    cap.release()
    image_tensor = torch.from_numpy(np.stack(frames, axis=0)).permute(0, 3, 1, 2).float()
    image_tensor = (image_tensor / 127.5) - 1.0
    depth_tensor = torch.from_numpy(np.load(os.path.join(data_dir, "depth.npz"))["depth"].astype(np.float32)).unsqueeze(1)
    mask_tensor = torch.from_numpy(np.load(os.path.join(data_dir, "mask.npz"))["mask"].astype(np.float32)).unsqueeze(1)
    camera_data = np.load(os.path.join(data_dir, "camera.npz"))
    return (image_tensor, depth_tensor, mask_tensor, torch.from_numpy(camera_data["w2c"]),
            torch.from_numpy(camera_data["intrinsics"]))  # fmt: skip


def gen3c_unproject_points(depth, w2c, intrinsic, mask):
    """forward_warp_utils_pytorch.py, unproject_points (is_depth=True): integer pixel coordinates."""
    b, _, h, w = depth.shape
    idx = torch.nonzero(mask[:, 0])
    b_idx, y_idx, x_idx = idx[:, 0], idx[:, 1], idx[:, 2]
    pos = torch.stack([x_idx.to(depth.dtype), y_idx.to(depth.dtype), torch.ones_like(x_idx, dtype=depth.dtype)],
                      dim=1).unsqueeze(-1)  # fmt: skip
    unnormalized_pos = torch.matmul(torch.linalg.inv(intrinsic)[b_idx], pos)
    world_points_cam = depth[b_idx, 0, y_idx, x_idx].view(-1, 1, 1) * unnormalized_pos
    world_points_homo = torch.cat([world_points_cam, torch.ones_like(world_points_cam[:, :1])], dim=1)
    out = torch.zeros((b, h, w, 3), dtype=depth.dtype)
    out[b_idx, y_idx, x_idx] = torch.matmul(torch.linalg.inv(w2c)[b_idx], world_points_homo)[:, :3, 0]
    return out


def smooth_colours(shot):
    """Colour ramps instead of the synthetic shot's noise: what H.264 is made for (the check is of
    the layout and the colour polarity, not of the codec)."""
    v, u = np.mgrid[0 : shot.height, 0 : shot.width]
    ramp = np.stack([u * 255 // shot.width, v * 255 // shot.height, np.full_like(u, 128)], -1)
    shot.color = np.stack([np.roll(ramp, 2 * i, axis=1) for i in range(len(shot))]).astype(np.uint8)
    return shot


def test_gen3c_folder_loads_as_its_loader_reads_it(tmp_path):
    shot = smooth_colours(synthetic_shot(frames=5, width=64, height=48))
    folder = tmp_path / "gen3c"
    folder.mkdir()
    gen3c.write(shot, folder)
    assert not list(folder.glob("*.pt")) and not list(folder.glob("*.pkl"))
    for name in ("depth.npz", "mask.npz", "camera.npz"):  # nothing pickled: loads with allow_pickle off
        with np.load(folder / name, allow_pickle=False) as data:
            assert all(data[k].dtype != object for k in data.files)
    image, depth, mask, w2c, K = gen3c_load_data_distributed_format(str(folder))
    F_, H, W = len(shot), shot.height, shot.width
    assert image.shape == (F_, 3, H, W) and depth.shape == mask.shape == (F_, 1, H, W)
    assert w2c.shape == (F_, 4, 4) and K.shape == (F_, 3, 3) and w2c.dtype == K.dtype == torch.float32
    assert -1.0 <= image.min() and image.max() <= 1.0
    covered = torch.from_numpy(shot.unseen < 0.5)
    assert (mask[:, 0].bool() == covered).all() and (depth[:, 0][~covered] == 0).all()  # polarity: 1 = valid
    np.testing.assert_allclose(depth[:, 0][covered].numpy(), shot.depth[covered.numpy()], rtol=1e-3)  # float16
    # H.264 at quality 9 on smooth ramps: within a few of 255 levels (channel order RGB, not BGR)
    assert np.abs(image.permute(0, 2, 3, 1).numpy() * 127.5 + 127.5 - shot.color).mean() < 3
    np.testing.assert_array_equal(np.asarray(Image.open(folder / "first_frame.png")), shot.color[0])
    # cameras: GEN3C's unprojection of every valid pixel lands where splatcine's (+0.5 centres) does
    points = gen3c_unproject_points(depth.double(), w2c.double(), K.double(), mask.bool())
    for i in (0, F_ - 1):
        cam = shot.cameras[i]
        v, u = np.nonzero(covered[i].numpy())
        k = cam.intrinsics
        rays = np.stack([(u + 0.5 - k.cx) / k.fx, (v + 0.5 - k.cy) / k.fy, np.ones(len(u))], -1)
        expected = (rays * shot.depth[i][v, u, None]) @ cam.world_from_cam[:3, :3].T + cam.world_from_cam[:3, 3]
        np.testing.assert_allclose(points[i].numpy()[v, u], expected, atol=5e-3)  # float16 depth, float32 K


def test_gen3c_dynamic_trajectory_at_zero_distance_is_the_written_cameras(tmp_path):
    """gen3c_dynamic.py renders the cache along generate_camera_trajectory(initial_w2c=the loaded
    cameras); camera_utils.py: create_horizontal_trajectory with distance 0 is look_at_matrix of
    (0,0,0) towards (0,0,1), i.e. the identity, applied as bmm(trajectory, w2c)."""
    shot = synthetic_shot(frames=5, width=64, height=48)
    (tmp_path / "g").mkdir()
    gen3c.write(shot, tmp_path / "g")
    w2c = torch.from_numpy(np.load(tmp_path / "g" / "camera.npz")["w2c"])
    forward = torch.tensor([0.0, 0.0, 1.0])
    right = torch.linalg.cross(torch.tensor([0.0, 1.0, 0.0]), forward)
    up = torch.linalg.cross(forward, right)
    look_at = torch.eye(4)
    look_at[0, :3], look_at[1, :3], look_at[2, :3] = right, up, forward
    generated = torch.bmm(look_at[None].repeat(len(shot), 1, 1), w2c)
    for i, cam in enumerate(shot.cameras):
        np.testing.assert_allclose(generated[i].numpy(), cam.cam_from_world, atol=1e-6)  # float32 storage


# --- CameraCtrl ----------------------------------------------------------------------------


def cameractrl_plucker(trajectory_file: str, sizes: dict) -> torch.Tensor:
    """inference.py, main (pose loading, the fx/fy aspect rescale, get_relative_pose,
    ray_condition) and cameractrl/data/dataset.py, Camera: [V, 6, H, W]."""
    with open(trajectory_file) as f:
        poses = f.readlines()
    poses = [pose.strip().split(" ") for pose in poses[1:]]
    cam_params = [[float(x) for x in pose] for pose in poses]
    cams = []
    for entry in cam_params:
        fx, fy, cx, cy = entry[1:5]
        w2c = np.eye(4)
        w2c[:3, :] = np.array(entry[7:]).reshape(3, 4)
        cams.append({"fx": fx, "fy": fy, "cx": cx, "cy": cy, "w2c": w2c, "c2w": np.linalg.inv(w2c)})
    image_width, image_height = sizes["image_width"], sizes["image_height"]
    sample_wh_ratio = image_width / image_height
    pose_wh_ratio = sizes["original_pose_width"] / sizes["original_pose_height"]
    if pose_wh_ratio > sample_wh_ratio:
        for c in cams:
            c["fx"] = image_height * pose_wh_ratio * c["fx"] / image_width
    else:
        for c in cams:
            c["fy"] = image_width / pose_wh_ratio * c["fy"] / image_height
    K = torch.tensor([[c["fx"] * image_width, c["fy"] * image_height, c["cx"] * image_width,
                       c["cy"] * image_height] for c in cams], dtype=torch.float32)[None]  # fmt: skip
    abs2rel = cams[0]["w2c"]
    c2ws = torch.as_tensor(np.array([np.eye(4)] + [abs2rel @ c["c2w"] for c in cams[1:]], dtype=np.float32))[None]
    H, W = image_height, image_width
    j, i = torch.meshgrid(torch.linspace(0, H - 1, H), torch.linspace(0, W - 1, W), indexing="ij")
    i = i.reshape([1, 1, H * W]) + 0.5
    j = j.reshape([1, 1, H * W]) + 0.5
    fx, fy, cx, cy = K.chunk(4, dim=-1)
    zs = torch.ones_like(i)
    xs = (i - cx) / fx * zs
    ys = (j - cy) / fy * zs
    directions = torch.stack((xs, ys, zs.expand_as(ys)), dim=-1)
    directions = directions / directions.norm(dim=-1, keepdim=True)
    rays_d = directions @ c2ws[..., :3, :3].transpose(-1, -2)
    rays_o = c2ws[..., :3, 3][:, :, None].expand_as(rays_d)
    plucker = torch.cat([torch.linalg.cross(rays_o, rays_d, dim=-1), rays_d], dim=-1)
    return plucker.reshape(1, c2ws.shape[1], H, W, 6)[0].permute(0, 3, 1, 2)


def test_cameractrl_trajectory_loads_as_inference_reads_it(tmp_path):
    shot = synthetic_shot(frames=16, width=384, height=256)  # the cameractrl target
    write_formats(shot, tmp_path, ["cameractrl"])
    sizes = json.loads((tmp_path / "cameractrl" / "cameractrl.json").read_text())
    assert sizes == {"original_pose_width": 384, "original_pose_height": 256, "image_width": 384,
                     "image_height": 256, "video_length": 16}  # fmt: skip
    plucker = cameractrl_plucker(str(tmp_path / "cameractrl" / "poses.txt"), sizes)
    assert plucker.shape == (16, 6, 256, 384)  # the pose encoder's 16 frames
    moment, direction = plucker[:, :3].numpy(), plucker[:, 3:].numpy()
    np.testing.assert_allclose(moment[0], 0.0, atol=1e-6)  # frame 0 sits at the origin
    # frame 9's rays leave its centre relative to frame 0, c = w2c_0 @ centre_9: moment = c x d
    c = (shot.cameras[0].cam_from_world @ np.append(shot.cameras[9].center, 1.0))[:3]
    np.testing.assert_allclose(moment[9], np.cross(c, direction[9].transpose(1, 2, 0)).transpose(2, 0, 1),
                               atol=1e-5)  # fmt: skip  float32 rays
    # polarity: the centre pixel of frame 9 looks along its camera's +z, seen from frame 0
    rel = shot.cameras[0].cam_from_world @ invert_rigid(shot.cameras[9].cam_from_world)
    assert np.dot(direction[9][:, 128, 192], rel[:3, 2]) > np.cos(np.radians(0.5))


def test_cameractrl_fit_picks_16_poses_over_the_whole_move(tmp_path):
    shot = synthetic_shot(frames=49, width=64, height=48)
    write_formats(shot, tmp_path, ["cameractrl"], fit=True)
    lines = (tmp_path / "cameractrl" / "poses.txt").read_text().splitlines()[1:]
    assert len(lines) == 16
    first, last = (np.reshape([float(v) for v in lines[k].split(" ")[7:]], (3, 4)) for k in (0, -1))
    np.testing.assert_allclose(first, shot.cameras[0].cam_from_world[:3], atol=1e-9)
    np.testing.assert_allclose(last, shot.cameras[-1].cam_from_world[:3], atol=1e-9)


# --- ReCamMaster ---------------------------------------------------------------------------


def recammaster_relative_poses(root: str, cam_type: int = 1) -> np.ndarray:
    """inference_recammaster.py, TextVideoCameraDataset.__getitem__ (parse_matrix, the Unreal
    axis swap, get_relative_pose): [21, 3, 4] poses relative to the first."""
    with open(os.path.join(root, "example_test_data", "cameras", "camera_extrinsics.json")) as file:
        cam_data = json.load(file)

    def parse_matrix(matrix_str):
        rows = matrix_str.strip().split("] [")
        return np.array([list(map(float, r.replace("[", "").replace("]", "").split())) for r in rows])

    cam_idx = list(range(81))[::4]
    traj = np.stack([parse_matrix(cam_data[f"frame{idx}"][f"cam{int(cam_type):02d}"]) for idx in cam_idx])
    c2ws = []
    for c2w in traj.transpose(0, 2, 1):
        c2w = c2w[:, [1, 2, 0, 3]]
        c2w[:3, 1] *= -1.0
        c2w[:3, 3] /= 100
        c2ws.append(c2w)
    w2c0 = np.linalg.inv(c2ws[0])
    return np.stack([(w2c0 @ c)[:3] for c in c2ws])


def test_recammaster_cameras_load_as_its_script_reads_them(tmp_path):
    shot = synthetic_shot(frames=81, width=32, height=16)
    write_formats(shot, tmp_path, ["recammaster"])
    rel = recammaster_relative_poses(str(tmp_path / "recammaster"))
    assert rel.shape == (21, 3, 4)
    for k, frame in enumerate(range(0, 81, 4)):
        expected = shot.cameras[0].cam_from_world @ shot.cameras[frame].world_from_cam  # cam0_from_cam
        np.testing.assert_allclose(rel[k], expected[:3], atol=1e-9)
    how_to = (tmp_path / "recammaster" / "HOW_TO_RUN.txt").read_text()
    assert "inference_recammaster.py --cam_type 1" in how_to and "camera_extrinsics.json" in how_to
    assert (tmp_path / "recammaster" / "example_test_data" / "metadata.csv").read_text().startswith("file_name,text")
