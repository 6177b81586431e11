// The render's coverage test on the CPU (splatcine/render/maps.py, `coverage`): for every
// pixel's 3D point of a new frame, the source views whose depth test it passes (in the view's
// frame, in front, within a relative depth tolerance of the depth the splat rendered there),
// the largest cosine between the new ray and a seeing view's ray, and how many of the frame's
// points each view saw. A view's depth map is -1 where it vouches for nothing (the splat did
// not cover the pixel, or a mask hid it), so one load per point and view decides.
//
// torch does this as ~20 passes over [views, points] intermediates: 1.2 s a frame at 832x480
// with 36 views, two thirds of `splatcine render` on the CPU. Here the points are taken in
// blocks small enough to stay in cache, and each view's depth map is walked by one block at a
// time, so a frame is one pass. The per-view counts are integers summed per block, so the
// result does not depend on the thread count.
#include <algorithm>
#include <cmath>
#include <vector>

#include "include/launchers.h"

namespace sc {

void coverage_cpu(int64_t points, const float* pts, const float* center, int views,
                  const float* cameras, const int32_t* sizes, const int64_t* offsets,
                  const float* depth, float depth_tol, int32_t* count, float* best_cos,
                  int64_t* per_source) {
    constexpr int64_t BLOCK = 2048;  // points per block: its state and rays stay in L1/L2
    const int64_t blocks = (points + BLOCK - 1) / BLOCK;
    // each view's centre in world, -R^T t
    std::vector<float> centres(3 * static_cast<size_t>(views));
    for (int s = 0; s < views; ++s) {
        const float* c = cameras + 16 * s;
        for (int i = 0; i < 3; ++i)
            centres[3 * s + i] = -(c[i] * c[9] + c[3 + i] * c[10] + c[6 + i] * c[11]);
    }
    std::vector<int64_t> partial(static_cast<size_t>(blocks) * views, 0);
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t k = 0; k < blocks; ++k) {
        const int64_t p0 = k * BLOCK;
        const int n = static_cast<int>(std::min(points - p0, BLOCK));
        // the block's points and the new camera's unit rays to them, side by side, so the
        // loop over a view's tests vectorises (gathers for the depth loads)
        alignas(64) float X[BLOCK], Y[BLOCK], Z[BLOCK], rx[BLOCK], ry[BLOCK], rz[BLOCK], best[BLOCK];
        alignas(64) int32_t seen_count[BLOCK], at[BLOCK], seen[BLOCK];
        alignas(64) float zs[BLOCK];
        for (int j = 0; j < n; ++j) {
            const float* q = pts + 3 * (p0 + j);
            X[j] = q[0];
            Y[j] = q[1];
            Z[j] = q[2];
            const float dx = X[j] - center[0], dy = Y[j] - center[1], dz = Z[j] - center[2];
            const float inv = 1.0f / std::max(std::sqrt(dx * dx + dy * dy + dz * dz), 1e-12f);  // F.normalize
            rx[j] = dx * inv;
            ry[j] = dy * inv;
            rz[j] = dz * inv;
            seen_count[j] = 0;
            best[j] = -1.0f;
        }
        for (int s = 0; s < views; ++s) {
            const float* c = cameras + 16 * s;  // R row-major, t, fx, fy, cx, cy
            const int h = sizes[2 * s], w = sizes[2 * s + 1];
            const float* __restrict d = depth + offsets[s];
            const float cx = centres[3 * s], cy = centres[3 * s + 1], cz = centres[3 * s + 2];
            // three passes over the block, the first and last vectorised: where each point
            // lands in the view, the depth test there, the seen points' counts and angles
            for (int j = 0; j < n; ++j) {
                const float z = c[6] * X[j] + c[7] * Y[j] + c[8] * Z[j] + c[11];
                const float inv_z = 1.0f / std::max(z, 1e-6f);
                const float x = c[0] * X[j] + c[1] * Y[j] + c[2] * Z[j] + c[9];
                const float y = c[3] * X[j] + c[4] * Y[j] + c[5] * Z[j] + c[10];
                // pixel coordinates: on [0, w) truncation is the floor, and floor(u) lies in
                // [0, w) exactly when u does
                const float u = x * inv_z * c[12] + c[14], v = y * inv_z * c[13] + c[15];
                const bool inside = (z > 1e-6f) & (u >= 0.0f) & (u < w) & (v >= 0.0f) & (v < h);
                at[j] = inside ? static_cast<int>(v) * w + static_cast<int>(u) : 0;
                zs[j] = inside ? z : -1.0f;  // fails the test below
            }
            for (int j = 0; j < n; ++j) {
                const float di = d[at[j]];
                seen[j] = (std::fabs(zs[j] - di) <= depth_tol * di) & (zs[j] > 0.0f);  // di < 0: vouches for nothing
            }
            int32_t seen_here = 0;
            for (int j = 0; j < n; ++j) {
                const float ex = X[j] - cx, ey = Y[j] - cy, ez = Z[j] - cz;
                const float cosine = (rx[j] * ex + ry[j] * ey + rz[j] * ez) /
                                     std::sqrt(std::max(ex * ex + ey * ey + ez * ez, 1e-24f));
                seen_here += seen[j];
                seen_count[j] += seen[j];
                best[j] = seen[j] ? std::max(best[j], cosine) : best[j];
            }
            partial[static_cast<size_t>(k) * views + s] = seen_here;
        }
        for (int j = 0; j < n; ++j) {
            count[p0 + j] = seen_count[j];
            best_cos[p0 + j] = best[j];
        }
    }
    for (int s = 0; s < views; ++s) per_source[s] = 0;
    for (int64_t k = 0; k < blocks; ++k)
        for (int s = 0; s < views; ++s) per_source[s] += partial[static_cast<size_t>(k) * views + s];
}

}  // namespace sc
