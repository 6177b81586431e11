// CPU compositing, forward and backward, over 16x16 tiles in parallel (dynamic
// schedule: tiles differ a lot in cost). Inside a tile a Gaussian is applied row by row
// to the chunks of one SIMD register (16 pixels with AVX-512, 8 with AVX2) that its
// footprint reaches in that row (include/pixel.h): a thin Gaussian crossing a tile
// touches a few chunks, not the whole 16x16 square.
//
// Forward keeps, per pixel, the final transmittance and the flat index of the last
// Gaussian that contributed. Backward walks each tile's list back to front from the
// largest such index, recovering each pixel's transmittance by division, and writes
// one gradient record per (tile, Gaussian) entry, summed over the entry's chunks in
// vector registers and reduced across lanes once per entry; a final parallel pass sums
// each Gaussian's records in tile order, so there are no atomics and the result does not
// depend on the thread count.
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

// Pixels of a row processed together: one SIMD register of floats.
#if defined(__AVX512F__)
constexpr int LANES = 16;
#else
constexpr int LANES = 8;
#endif
constexpr int LANE_BITS = LANES == 16 ? 4 : 3;
constexpr int CHUNKS = TILE / LANES;
static_assert(TILE % LANES == 0, "a tile row is a whole number of chunks");

// The chunks [h0, h1] of a tile row holding the pixel centres (dx = base + c, row dy)
// that the footprint can reach; false when the row misses it. Scalar, per visited row:
// most entries visit a few rows, so spans for all 16 rows at once cost more than they save.
inline bool row_chunks(const Footprint& fp, float dy, float base, int& h0, int& h1) {
    if (!fp.exact) {
        h0 = 0;
        h1 = CHUNKS - 1;
        return true;
    }
    const float disc = fp.two_L_c0 - fp.det * dy * dy;
    if (disc < 0.0f) return false;
    const float half = sqrtf(disc) * fp.inv_c0, centre = -fp.c1 * dy * fp.inv_c0 - base;
    const float c_lo = max_f(ceilf(centre - half - 0.5f), 0.0f);
    const float c_hi = min_f(floorf(centre + half + 0.5f), TILE - 1.0f);
    h0 = static_cast<int>(c_lo) >> LANE_BITS;
    h1 = static_cast<int>(c_hi) >> LANE_BITS;
    return c_lo <= c_hi;
}

// How far from its centre row a Gaussian can reach, in rows.
inline float row_reach(const Footprint& fp, float c0, float c1, float c2, float op) {
    return fp.exact ? fp.y_ext + 1.0f : reach_y(c0, c1, c2, op);
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
        int chunk_live[TILE][CHUNKS];  // pixels of each chunk still above T_MIN
        for (int r = 0; r < TILE; ++r) {
            for (int h = 0; h < CHUNKS; ++h)
                chunk_live[r][h] = r < t.rows ? std::clamp(t.cols - h * LANES, 0, LANES) : 0;
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
            const Footprint fp = footprint(c0, c1, c2, op);
            const float base = t.x0 + 0.5f - mx;
            int r0, r1;
            reachable_rows(my, row_reach(fp, c0, c1, c2, op), t, r0, r1);
            for (int r = r0; r <= r1; ++r) {
                const float dy = t.y0 + r + 0.5f - my;
                int h0, h1;
                if (!row_chunks(fp, dy, base, h0, h1)) continue;
                for (int h = h0; h <= h1; ++h) {
                    if (chunk_live[r][h] == 0) continue;
                    float* __restrict Tr = T[r] + h * LANES;
                    float* __restrict lr = live[r] + h * LANES;
                    float* __restrict a0 = acc[0][r] + h * LANES;
                    float* __restrict a1 = acc[1][r] + h * LANES;
                    float* __restrict a2 = acc[2][r] + h * LANES;
                    float* __restrict a3 = acc[3][r] + h * LANES;
                    int32_t* __restrict kr = last_k[r] + h * LANES;
                    const float dx0 = base + h * LANES;
                    int died = 0;
#pragma omp simd reduction(+ : died)
                    for (int c = 0; c < LANES; ++c) {
                        const float dx = dx0 + c;
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
                        // Stores of selects written so that g++ emits plain stores: from
                        // `x[c] = cond ? v : x[c]` it makes masked stores, microcoded on AMD.
                        Tr[c] = Tc * (1.0f - (use ? alpha : 0.0f));  // test_T or Tc
                        const int32_t keep = -static_cast<int32_t>(use);
                        kr[c] = (k & keep) | (kr[c] & ~keep);
                        lr[c] *= term ? 0.0f : 1.0f;
                        died += term ? 1 : 0;
                    }
                    chunk_live[r][h] -= died;
                    n_live -= died;
                }
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
                    const int32_t* gauss_offsets, const int32_t* gauss_entries,
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
        int chunk_last[TILE][CHUNKS];  // a chunk's pixels all stopped before entries past this one
        for (int r = 0; r < TILE; ++r) {
            for (int h = 0; h < CHUNKS; ++h) chunk_last[r][h] = start - 1;
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
                chunk_last[r][c / LANES] = std::max(chunk_last[r][c / LANES], last_k[r][c]);
                max_last = std::max(max_last, last_k[r][c]);
            }
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
            const Footprint fp = footprint(c0, c1, c2, op);
            const float base = t.x0 + 0.5f - mx;
            // per-lane partial sums over every chunk this entry visits, reduced once at the end
            alignas(64) float acc[RASTER_GRADS][LANES] = {};
            int r0, r1;
            reachable_rows(my, row_reach(fp, c0, c1, c2, op), t, r0, r1);
            for (int r = r0; r <= r1; ++r) {
                const float dy = t.y0 + r + 0.5f - my;
                int h0, h1;
                if (!row_chunks(fp, dy, base, h0, h1)) continue;
                for (int h = h0; h <= h1; ++h) {
                    if (k > chunk_last[r][h]) continue;  // every pixel of the chunk ended in front of it
                    const int o = h * LANES;
                    float* __restrict Tr = T[r] + o;
                    float* __restrict S0 = S[0][r] + o;
                    float* __restrict S1 = S[1][r] + o;
                    float* __restrict S2 = S[2][r] + o;
                    float* __restrict S3 = S[3][r] + o;
                    const float* __restrict vo0 = vo[0][r] + o;
                    const float* __restrict vo1 = vo[1][r] + o;
                    const float* __restrict vo2 = vo[2][r] + o;
                    const float* __restrict vo3 = vo[3][r] + o;
                    const float* __restrict Tfr = Tf[r] + o;
                    const float* __restrict var = va[r] + o;
                    const int32_t* __restrict kr = last_k[r] + o;
                    const float dx0 = base + o;
#pragma omp simd
                    for (int c = 0; c < LANES; ++c) {
                        const float dx = dx0 + c;
                        float vis;
                        bool clamped;
                        const float a = pixel_alpha(c0, c1, c2, op, dx, dy, vis, clamped);
                        // alpha == 0: skipped at this pixel (or behind its last), nothing changes
                        const float alpha = k <= kr[c] ? a : 0.0f;
                        float T_px = Tr[c], ra, v_a;
                        const float w = blend_bwd_alpha(alpha, var[c], Tfr[c], T_px, ra, v_a);
                        Tr[c] = T_px;
                        acc[6][c] += blend_bwd_channel(f[0], vo0[c], w, T_px, ra, S0[c], v_a);
                        acc[7][c] += blend_bwd_channel(f[1], vo1[c], w, T_px, ra, S1[c], v_a);
                        acc[8][c] += blend_bwd_channel(f[2], vo2[c], w, T_px, ra, S2[c], v_a);
                        acc[9][c] += blend_bwd_channel(f[3], vo3[c], w, T_px, ra, S3[c], v_a);
                        v_a = clamped ? 0.0f : v_a;
                        v_a = alpha > 0.0f ? v_a : 0.0f;
                        acc[5][c] += vis * v_a;
                        const float v_sigma = -alpha * v_a;
                        acc[2][c] += 0.5f * dx * dx * v_sigma;
                        acc[3][c] += dx * dy * v_sigma;
                        acc[4][c] += 0.5f * dy * dy * v_sigma;
                        acc[0][c] += -(c0 * dx + c1 * dy) * v_sigma;
                        acc[1][c] += -(c1 * dx + c2 * dy) * v_sigma;
                    }
                }
            }
            float* e = entry_grads + int64_t(k) * RASTER_GRADS;
            for (int j = 0; j < RASTER_GRADS; ++j) {
                float sum = 0.0f;
                for (int c = 0; c < LANES; ++c) sum += acc[j][c];
                e[j] = sum;
            }
        }
    }
    // Sum each Gaussian's records, in tile order (its entries as binning listed them).
#pragma omp for schedule(static, 256)
    for (int g = 0; g < n; ++g) {
        float sum[RASTER_GRADS] = {};
        for (int j = gauss_offsets[g]; j < gauss_offsets[g + 1]; ++j) {
            const float* e = entry_grads + int64_t(gauss_entries[j]) * RASTER_GRADS;
            for (int q = 0; q < RASTER_GRADS; ++q) sum[q] += e[q];
        }
        v_means2d[2 * g] = sum[0]; v_means2d[2 * g + 1] = sum[1];
        v_conics[3 * g] = sum[2]; v_conics[3 * g + 1] = sum[3]; v_conics[3 * g + 2] = sum[4];
        v_opacities[g] = sum[5];
        for (int ch = 0; ch < CHANNELS; ++ch) v_features[CHANNELS * g + ch] = sum[6 + ch];
    }
    }  // omp parallel
}

}  // namespace sc
