// The kernels' entry points on plain pointers and sizes (no torch types), one pair
// per op: `*_cpu` in the *_cpu.cpp files, `*_cuda` in the *_cuda.cu files. ops.cpp
// checks, allocates and dispatches to them. All float arrays are float32, row-major.
#pragma once

#include <stdint.h>

#include <vector>

#include "pixel.h"
#include "projection.h"

namespace sc {

// ---- projection: N Gaussians -> means2d [N,2], depths [N], conics [N,3], comps [N], radii [N]
void project_fwd_cpu(int n, const float* means, const float* quats, const float* scales,
                     const float* opacities, PinholeCamera cam, bool antialiased, float* means2d,
                     float* depths, float* conics, float* comps, int32_t* radii);
void project_bwd_cpu(int n, const float* means, const float* quats, const float* scales,
                     PinholeCamera cam, bool antialiased, const int32_t* radii,
                     const float* v_means2d, const float* v_depths, const float* v_conics,
                     const float* v_comps, float* v_means, float* v_quats, float* v_scales);

// ---- spherical harmonics: dirs [N,3], coeffs [N,K,3] -> colors [N,3]; skips radii == 0
void sh_fwd_cpu(int n, int k, int degree, const float* dirs, const float* coeffs,
                const int32_t* radii, float* colors);
void sh_bwd_cpu(int n, int k, int degree, const float* dirs, const float* coeffs,
                const int32_t* radii, const float* v_colors, float* v_coeffs, float* v_dirs);

// ---- the glue between the stages (CPU; ops.cpp runs the same as torch ops on CUDA):
// out = exp(x) over n floats;
// dirs [N,3] = means - camera centre (cam_from_world [4,4]); colors = max(raw + 0.5, 0) from SH values raw [N,3]
// and its backward; features [N,4] = (rgb, depth); color [H,W,3] = blended + T_final
// background (none: nullptr), depth_sum [H,W], alpha = 1 - T_final, and its backward.
void exp_cpu(int64_t n, const float* x, float* out);
void sh_dirs_cpu(int n, const float* means, const float* cam_from_world, float* dirs);
void sh_clamp_fwd_cpu(int n, const float* raw, float* colors);
void sh_clamp_bwd_cpu(int n, const float* raw, const float* v_colors, float* v_raw);
void pack_features_cpu(int n, const float* rgb, const float* depths, float* features);
void over_background_fwd_cpu(int64_t pixels, const float* blended, const float* T_final,
                             const float* background, float* color, float* depth_sum, float* alpha);
void over_background_bwd_cpu(int64_t pixels, const float* v_color, const float* v_depth_sum,
                             const float* v_alpha, const float* background, float* v_blended,
                             float* v_alpha_total);

// ---- binning: per-tile lists of Gaussian ids sorted by depth, each Gaussian listed in
// the tiles its footprint (include/pixel.h) touches. opacities: after compensation.
// CPU: tile_visits_cpu walks every footprint once, filling gauss_offsets [N + 1] (Gaussian
// g's records are slots gauss_offsets[g] .. gauss_offsets[g + 1] - 1, in tile order) and
// slot_tiles (each slot's tile), and returns M, the number of slots (nothing is filled when
// M reaches INT32_MAX); bin_gaussians_cpu then fills tile_offsets [tiles + 1], flat_ids [M]
// and for the gradient sum entry_slots [M] (the slot of each entry's record).
int64_t tile_visits_cpu(int n, const float* means2d, const float* conics, const float* opacities,
                        const int32_t* radii, int width, int height, int32_t* gauss_offsets,
                        std::vector<int32_t>& slot_tiles);
void bin_gaussians_cpu(int n, const int32_t* gauss_offsets, const int32_t* slot_tiles,
                       const float* depths, int tiles, int32_t* tile_offsets, int32_t* flat_ids,
                       int32_t* entry_slots);

// ---- compositing: features [N,4] (r, g, b, depth) -> out [H,W,4], T_final [H,W],
// last [H,W] (flat index of the last contributing entry, or -1). On the CPU the forward
// keeps its batches (a tile's entries gathered and listed per chunk, raster_batch_bytes()
// each; tile t's at batch_offsets[t], one per BATCH entries) for the backward, which
// needs them; `batches` null: not kept.
size_t raster_batch_bytes();
int raster_batch_size();
void raster_fwd_cpu(const float* means2d, const float* conics, const float* opacities,
                    const float* features, const int32_t* tile_offsets, const int32_t* flat_ids,
                    int width, int height, float* out, float* T_final, int32_t* last,
                    void* batches, const int32_t* batch_offsets);
// entry_grads [M, 10] (scratch, by slot) is reduced into the per-Gaussian gradients.
void raster_bwd_cpu(int n, const void* batches, const int32_t* batch_offsets,
                    const int32_t* tile_offsets, const int32_t* gauss_offsets, const int32_t* entry_slots,
                    int width, int height, const float* T_final, const int32_t* last,
                    const float* v_out, const float* v_alpha, float* entry_grads,
                    float* v_means2d, float* v_conics, float* v_opacities, float* v_features);

// ---- the training loss's SSIM (11-tap window, as splatcine/train/loss.py and kornia):
// a, b [H, W, C] -> moments [5, H, W, C] (blurred a, b, a^2, b^2, ab; for the backward
// pass), ssim [H, W, C]; backward: v_ssim [H, W, C] -> v_a [H, W, C] (b is fixed).
constexpr int SSIM_WINDOW = 11;
void ssim_fwd_cpu(int h, int w, int c, const float* a, const float* b, float* moments, float* ssim);
void ssim_bwd_cpu(int h, int w, int c, const float* a, const float* b, const float* moments,
                  const float* v_ssim, float* v_a);
// The whole loss, (1 - lambda) L1 + lambda (1 - SSIM), each averaged over the channels and
// over the pixels weighted by weight [H, W] (nullptr: every pixel weighs 1; the mean is over
// max(1, sum of weights)), in one call: stats[0] = the loss, stats[1] = the MSE alike; moments
// as ssim_fwd_cpu's (unused when lambda is 0). Backward: v_a [H, W, C] = v_loss * dloss/da.
void photometric_fwd_cpu(int h, int w, int c, const float* a, const float* b, const float* weight,
                         float ssim_lambda, float* moments, float* stats);
void photometric_bwd_cpu(int h, int w, int c, const float* a, const float* b, const float* weight,
                         const float* moments, float ssim_lambda, float v_loss, float* v_a);

// ---- the trainer's colour correction: rgb [P, 3], affine [3, 4] = [A | b] -> out [P, 3] = A rgb + b;
// backward: v_out [P, 3] -> v_rgb [P, 3], v_affine [3, 4].
void color_affine_fwd_cpu(int64_t pixels, const float* rgb, const float* affine, float* out);
void color_affine_bwd_cpu(int64_t pixels, const float* rgb, const float* affine, const float* v_out,
                          float* v_rgb, float* v_affine);

// ---- Adam (adam_cpu.cpp): one step of torch.optim.Adam's update (no amsgrad, maximize or
// weight decay) on `count` tensors at once, tensor t of sizes[t] floats with its own settings;
// `step` is the step being taken (1 for the first).
struct AdamHyper {
    double lr, beta1, beta2, eps, step;
};
void adam_cpu(int count, const int64_t* sizes, float* const* params, const float* const* grads,
              float* const* exp_avgs, float* const* exp_avg_sqs, const AdamHyper* hyper);

// ---- the render's coverage test (coverage_cpu.cpp): points [P,3] against views' depth maps
// (cameras [S,16]: R row-major, t, fx, fy, cx, cy; maps flat at offsets [S], sizes [S,2] h,w,
// -1 where a view vouches for nothing) -> count [P], best_cos [P] (-1: unseen), per_source [S]
void coverage_cpu(int64_t points, const float* pts, const float* center, int views,
                  const float* cameras, const int32_t* sizes, const int64_t* offsets,
                  const float* depth, float depth_tol, int32_t* count, float* best_cos,
                  int64_t* per_source);

// ---- CUDA: the same algorithm; pointers are device pointers, launched on `stream`.
void project_fwd_cuda(int n, const float* means, const float* quats, const float* scales,
                      const float* opacities, PinholeCamera cam, bool antialiased, float* means2d,
                      float* depths, float* conics, float* comps, int32_t* radii, void* stream);
void project_bwd_cuda(int n, const float* means, const float* quats, const float* scales,
                      PinholeCamera cam, bool antialiased, const int32_t* radii,
                      const float* v_means2d, const float* v_depths, const float* v_conics,
                      const float* v_comps, float* v_means, float* v_quats, float* v_scales,
                      void* stream);
void sh_fwd_cuda(int n, int k, int degree, const float* dirs, const float* coeffs,
                 const int32_t* radii, float* colors, void* stream);
void sh_bwd_cuda(int n, int k, int degree, const float* dirs, const float* coeffs,
                 const int32_t* radii, const float* v_colors, float* v_coeffs, float* v_dirs,
                 void* stream);
// counts [N] tiles touched per Gaussian; after an inclusive scan into offsets, emit
// keys (tile << 32 | depth bits) and values (Gaussian id) for sorting; after sorting,
// tile_ranges marks where each tile's entries start in tile_offsets [tiles + 1].
void count_intersections_cuda(int n, const float* means2d, const float* conics,
                              const float* opacities, const int32_t* radii, int width, int height,
                              int32_t* counts, void* stream);
void emit_intersections_cuda(int n, const float* means2d, const float* conics,
                             const float* opacities, const int32_t* radii, const float* depths,
                             const int64_t* offsets, int width, int height, int64_t* keys,
                             int32_t* values, void* stream);
void tile_ranges_cuda(int64_t m, const int64_t* sorted_keys, int tiles, int32_t* tile_offsets,
                      void* stream);
void raster_fwd_cuda(const float* means2d, const float* conics, const float* opacities,
                     const float* features, const int32_t* tile_offsets, const int32_t* flat_ids,
                     int width, int height, float* out, float* T_final, int32_t* last,
                     void* stream);
// Gradients are accumulated atomically into v_* (zeroed by the caller); entry_grads unused.
void raster_bwd_cuda(const float* means2d, const float* conics, const float* opacities,
                     const float* features, const int32_t* tile_offsets, const int32_t* flat_ids,
                     int width, int height, const float* T_final, const int32_t* last,
                     const float* v_out, const float* v_alpha, float* v_means2d,
                     float* v_conics, float* v_opacities, float* v_features, void* stream);

// Tiles covered by a Gaussian's box (inclusive ranges), shared by both binning paths.
SC_HD void tile_range(float mx, float my, int radius, int width, int height, int& tx0, int& tx1,
                      int& ty0, int& ty1) {
    const int tiles_x = (width + TILE - 1) / TILE, tiles_y = (height + TILE - 1) / TILE;
    tx0 = static_cast<int>(max_f(floorf((mx - radius) / TILE), 0.0f));
    ty0 = static_cast<int>(max_f(floorf((my - radius) / TILE), 0.0f));
    tx1 = static_cast<int>(min_f(floorf((mx + radius) / TILE), tiles_x - 1.0f));
    ty1 = static_cast<int>(min_f(floorf((my + radius) / TILE), tiles_y - 1.0f));
}

// Calls visit(tx, ty) for every tile of the Gaussian's box that its footprint (conic c,
// opacity after compensation) reaches, row of tiles by row, left to right; returns how
// many. A tile row's pixel centres span dy in [ya, yb]; the footprint's x-range over that
// band picks the columns. A box of one tile is taken as it is (no test to pay for).
template <class Visit>
SC_HD int visit_tiles(float mx, float my, int radius, float c0, float c1, float c2, float opacity,
                      int width, int height, Visit&& visit) {
    int tx0, tx1, ty0, ty1;
    tile_range(mx, my, radius, width, height, tx0, tx1, ty0, ty1);
    if (tx0 == tx1 && ty0 == ty1) {
        visit(tx0, ty0);
        return 1;
    }
    const Footprint fp = footprint(c0, c1, c2, opacity);
    int count = 0;
    for (int ty = ty0; ty <= ty1; ++ty) {
        const float ya = ty * TILE + 0.5f - my;
        const float yb = min_f(static_cast<float>((ty + 1) * TILE), static_cast<float>(height)) - 0.5f - my;
        float lo, hi;
        if (!band_span(fp, ya, yb, lo, hi)) continue;
        // pixel columns x whose centre x + 0.5 - mx lies in [lo, hi]
        const float x_lo = max_f(ceilf(lo + mx - 0.5f), 0.0f);
        const float x_hi = min_f(floorf(hi + mx - 0.5f), width - 1.0f);
        if (!(x_lo <= x_hi)) continue;
        const int a = static_cast<int>(x_lo) / TILE, b = static_cast<int>(x_hi) / TILE;
        for (int tx = a > tx0 ? a : tx0; tx <= (b < tx1 ? b : tx1); ++tx) {
            visit(tx, ty);
            ++count;
        }
    }
    return count;
}

}  // namespace sc
