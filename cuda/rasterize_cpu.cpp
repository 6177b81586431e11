// CPU compositing, forward and backward, over 16x16 tiles in parallel (dynamic
// schedule: tiles differ a lot in cost). Inside a tile a Gaussian is applied to one
// row of 16 pixels at a time, which g++ vectorises (one AVX-512 register per row).
//
// Forward keeps, per pixel, the final transmittance and the flat index of the last
// Gaussian that contributed. Backward walks each tile's list back to front from the
// largest such index, recovering each pixel's transmittance by division, and writes
// one gradient record per (tile, Gaussian) entry; a final pass sums the records per
// Gaussian, so there are no atomics and the result does not depend on thread count.
#include <algorithm>

#if defined(__SSE__)
#include <xmmintrin.h>
#endif

#include "include/launchers.h"
#include "include/pixel.h"

namespace sc {

namespace {

// Flush denormals to zero for the lifetime of the guard on this thread (restored after):
// products in a Gaussian's far tail would otherwise take the slow microcode path.
struct FlushDenormals {
#if defined(__SSE__)
    unsigned int saved = _mm_getcsr();
    FlushDenormals() { _mm_setcsr(saved | 0x8040); }  // FTZ | DAZ
    ~FlushDenormals() { _mm_setcsr(saved); }
#endif
};

struct TileGeometry {
    int x0, y0, rows, cols;
};

TileGeometry tile_geometry(int tile, int width, int height) {
    const int tiles_x = (width + TILE - 1) / TILE;
    const int x0 = (tile % tiles_x) * TILE, y0 = (tile / tiles_x) * TILE;
    return {x0, y0, std::min(TILE, height - y0), std::min(TILE, width - x0)};
}

// The entries of a tile point at Gaussians scattered through memory; fetching the one
// a few entries ahead hides the cache misses behind the current entry's pixel work.
constexpr int PREFETCH_AHEAD = 8;

inline void prefetch_gaussian(int g, const float* means2d, const float* conics,
                              const float* opacities, const float* features) {
    __builtin_prefetch(means2d + 2 * g);
    __builtin_prefetch(conics + 3 * g);
    __builtin_prefetch(opacities + g);
    __builtin_prefetch(features + CHANNELS * g);
}

// Rows [r0, r1] of the tile that a Gaussian centred at row coordinate `my` can reach.
void reachable_rows(float my, float reach, const TileGeometry& t, int& r0, int& r1) {
    r0 = std::max(0, static_cast<int>(floorf(my - reach - t.y0 - 0.5f)));
    r1 = std::min(t.rows - 1, static_cast<int>(ceilf(my + reach - t.y0 - 0.5f)));
}

}  // namespace

void raster_fwd_cpu(const float* means2d, const float* conics, const float* opacities,
                    const float* features, const int32_t* tile_offsets, const int32_t* flat_ids,
                    int width, int height, float* out, float* T_final, int32_t* last) {
    const int tiles = ((width + TILE - 1) / TILE) * ((height + TILE - 1) / TILE);
#pragma omp parallel
    {
    const FlushDenormals ftz;
#pragma omp for schedule(dynamic, 1)
    for (int tile = 0; tile < tiles; ++tile) {
        const TileGeometry t = tile_geometry(tile, width, height);
        alignas(64) float T[TILE][TILE], live[TILE][TILE], acc[CHANNELS][TILE][TILE];
        alignas(64) int32_t last_k[TILE][TILE];
        int row_live[TILE];
        for (int r = 0; r < TILE; ++r) {
            row_live[r] = r < t.rows ? t.cols : 0;
            for (int c = 0; c < TILE; ++c) {
                T[r][c] = 1.0f;
                live[r][c] = (r < t.rows && c < t.cols) ? 1.0f : 0.0f;
                last_k[r][c] = -1;
                for (int ch = 0; ch < CHANNELS; ++ch) acc[ch][r][c] = 0.0f;
            }
        }
        int n_live = t.rows * t.cols;
        for (int k = tile_offsets[tile]; k < tile_offsets[tile + 1] && n_live > 0; ++k) {
            const int g = flat_ids[k];
            if (k + PREFETCH_AHEAD < tile_offsets[tile + 1])
                prefetch_gaussian(flat_ids[k + PREFETCH_AHEAD], means2d, conics, opacities, features);
            const float mx = means2d[2 * g], my = means2d[2 * g + 1];
            const float c0 = conics[3 * g], c1 = conics[3 * g + 1], c2 = conics[3 * g + 2];
            const float op = opacities[g];
            const float f0 = features[4 * g], f1 = features[4 * g + 1];
            const float f2 = features[4 * g + 2], f3 = features[4 * g + 3];
            int r0, r1;
            reachable_rows(my, reach_y(c0, c1, c2, op), t, r0, r1);
            for (int r = r0; r <= r1; ++r) {
                if (row_live[r] == 0) continue;
                const float dy = t.y0 + r + 0.5f - my;
                float* __restrict Tr = T[r];
                float* __restrict lr = live[r];
                float* __restrict a0 = acc[0][r];
                float* __restrict a1 = acc[1][r];
                float* __restrict a2 = acc[2][r];
                float* __restrict a3 = acc[3][r];
                int32_t* __restrict kr = last_k[r];
                int died = 0;
#pragma omp simd reduction(+ : died)
                for (int c = 0; c < TILE; ++c) {
                    const float dx = t.x0 + c + 0.5f - mx;
                    const float alpha = pixel_alpha(c0, c1, c2, op, dx, dy) * lr[c];
                    const float Tc = Tr[c];
                    const float test_T = Tc * (1.0f - alpha);
                    const bool term = alpha > 0.0f && test_T < T_MIN;
                    const bool use = alpha > 0.0f && !term;
                    const float w = use ? alpha * Tc : 0.0f;
                    a0[c] += w * f0;
                    a1[c] += w * f1;
                    a2[c] += w * f2;
                    a3[c] += w * f3;
                    Tr[c] = use ? test_T : Tc;
                    kr[c] = use ? k : kr[c];
                    lr[c] = term ? 0.0f : lr[c];
                    died += term ? 1 : 0;
                }
                row_live[r] -= died;
                n_live -= died;
            }
        }
        for (int r = 0; r < t.rows; ++r)
            for (int c = 0; c < t.cols; ++c) {
                const int64_t px = static_cast<int64_t>(t.y0 + r) * width + t.x0 + c;
                for (int ch = 0; ch < CHANNELS; ++ch) out[px * CHANNELS + ch] = acc[ch][r][c];
                T_final[px] = T[r][c];
                last[px] = last_k[r][c];
            }
    }
    }  // omp parallel
}

void raster_bwd_cpu(int n, const float* means2d, const float* conics, const float* opacities,
                    const float* features, const int32_t* tile_offsets, const int32_t* flat_ids,
                    int width, int height, const float* T_final, const int32_t* last,
                    const float* v_out, const float* v_alpha, float* entry_grads,
                    float* v_means2d, float* v_conics, float* v_opacities, float* v_features) {
    const int tiles = ((width + TILE - 1) / TILE) * ((height + TILE - 1) / TILE);
#pragma omp parallel
    {
    const FlushDenormals ftz;
#pragma omp for schedule(dynamic, 1)
    for (int tile = 0; tile < tiles; ++tile) {
        const TileGeometry t = tile_geometry(tile, width, height);
        alignas(64) float T[TILE][TILE], Tf[TILE][TILE], va[TILE][TILE];
        alignas(64) float S[CHANNELS][TILE][TILE], vo[CHANNELS][TILE][TILE];
        alignas(64) int32_t last_k[TILE][TILE];
        const int start = tile_offsets[tile], end = tile_offsets[tile + 1];
        int max_last = start - 1;
        int row_last[TILE];  // a row's pixels all stopped before entries past this one
        for (int r = 0; r < TILE; ++r) {
            row_last[r] = start - 1;
            for (int c = 0; c < TILE; ++c) {
                const bool inside = r < t.rows && c < t.cols;
                const int64_t px = static_cast<int64_t>(t.y0 + r) * width + t.x0 + c;
                last_k[r][c] = inside ? last[px] : -1;
                T[r][c] = Tf[r][c] = inside ? T_final[px] : 1.0f;
                va[r][c] = inside ? v_alpha[px] : 0.0f;
                for (int ch = 0; ch < CHANNELS; ++ch) {
                    S[ch][r][c] = 0.0f;
                    vo[ch][r][c] = inside ? v_out[px * CHANNELS + ch] : 0.0f;
                }
                row_last[r] = std::max(row_last[r], last_k[r][c]);
            }
            max_last = std::max(max_last, row_last[r]);
        }
        for (int k = max_last + 1; k < end; ++k)
            for (int j = 0; j < RASTER_GRADS; ++j) entry_grads[int64_t(k) * RASTER_GRADS + j] = 0.0f;
        for (int k = max_last; k >= start; --k) {
            const int g = flat_ids[k];
            if (k - PREFETCH_AHEAD >= start)
                prefetch_gaussian(flat_ids[k - PREFETCH_AHEAD], means2d, conics, opacities, features);
            const float mx = means2d[2 * g], my = means2d[2 * g + 1];
            const float c0 = conics[3 * g], c1 = conics[3 * g + 1], c2 = conics[3 * g + 2];
            const float op = opacities[g];
            const float f[CHANNELS] = {features[4 * g], features[4 * g + 1], features[4 * g + 2],
                                       features[4 * g + 3]};
            float g_mx = 0, g_my = 0, g_c0 = 0, g_c1 = 0, g_c2 = 0, g_op = 0;
            float g_f0 = 0, g_f1 = 0, g_f2 = 0, g_f3 = 0;
            int r0, r1;
            reachable_rows(my, reach_y(c0, c1, c2, op), t, r0, r1);
            for (int r = r0; r <= r1; ++r) {
                if (k > row_last[r]) continue;  // every pixel of the row ended in front of it
                const float dy = t.y0 + r + 0.5f - my;
                float* __restrict Tr = T[r];
                float* __restrict S0 = S[0][r];
                float* __restrict S1 = S[1][r];
                float* __restrict S2 = S[2][r];
                float* __restrict S3 = S[3][r];
                const float* __restrict vo0 = vo[0][r];
                const float* __restrict vo1 = vo[1][r];
                const float* __restrict vo2 = vo[2][r];
                const float* __restrict vo3 = vo[3][r];
                const float* __restrict Tfr = Tf[r];
                const float* __restrict var = va[r];
                const int32_t* __restrict kr = last_k[r];
#pragma omp simd reduction(+ : g_mx, g_my, g_c0, g_c1, g_c2, g_op, g_f0, g_f1, g_f2, g_f3)
                for (int c = 0; c < TILE; ++c) {
                    const float dx = t.x0 + c + 0.5f - mx;
                    float vis;
                    bool clamped;
                    const float a = pixel_alpha(c0, c1, c2, op, dx, dy, vis, clamped);
                    // alpha == 0: skipped at this pixel (or behind its last), nothing changes
                    const float alpha = k <= kr[c] ? a : 0.0f;
                    float T_px = Tr[c], ra, v_a;
                    const float w = blend_bwd_alpha(alpha, var[c], Tfr[c], T_px, ra, v_a);
                    Tr[c] = T_px;
                    g_f0 += blend_bwd_channel(f[0], vo0[c], w, T_px, ra, S0[c], v_a);
                    g_f1 += blend_bwd_channel(f[1], vo1[c], w, T_px, ra, S1[c], v_a);
                    g_f2 += blend_bwd_channel(f[2], vo2[c], w, T_px, ra, S2[c], v_a);
                    g_f3 += blend_bwd_channel(f[3], vo3[c], w, T_px, ra, S3[c], v_a);
                    v_a = clamped ? 0.0f : v_a;
                    v_a = alpha > 0.0f ? v_a : 0.0f;
                    g_op += vis * v_a;
                    const float v_sigma = -alpha * v_a;
                    g_c0 += 0.5f * dx * dx * v_sigma;
                    g_c1 += dx * dy * v_sigma;
                    g_c2 += 0.5f * dy * dy * v_sigma;
                    g_mx += -(c0 * dx + c1 * dy) * v_sigma;
                    g_my += -(c1 * dx + c2 * dy) * v_sigma;
                }
            }
            float* e = entry_grads + int64_t(k) * RASTER_GRADS;
            e[0] = g_mx; e[1] = g_my; e[2] = g_c0; e[3] = g_c1; e[4] = g_c2; e[5] = g_op;
            e[6] = g_f0; e[7] = g_f1; e[8] = g_f2; e[9] = g_f3;
        }
    }
    }  // omp parallel
    // Sum the per-entry records per Gaussian (serial: a few adds per entry).
    std::fill(v_means2d, v_means2d + 2 * int64_t(n), 0.0f);
    std::fill(v_conics, v_conics + 3 * int64_t(n), 0.0f);
    std::fill(v_opacities, v_opacities + n, 0.0f);
    std::fill(v_features, v_features + CHANNELS * int64_t(n), 0.0f);
    const int64_t m = tile_offsets[tiles];
    for (int64_t k = 0; k < m; ++k) {
        const int g = flat_ids[k];
        const float* e = entry_grads + k * RASTER_GRADS;
        v_means2d[2 * g] += e[0]; v_means2d[2 * g + 1] += e[1];
        v_conics[3 * g] += e[2]; v_conics[3 * g + 1] += e[3]; v_conics[3 * g + 2] += e[4];
        v_opacities[g] += e[5];
        for (int ch = 0; ch < CHANNELS; ++ch) v_features[CHANNELS * g + ch] += e[6 + ch];
    }
}

}  // namespace sc
