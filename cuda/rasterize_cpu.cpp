// CPU compositing, forward and backward, over 16x16 tiles in parallel (dynamic
// schedule: tiles differ a lot in cost). A tile row is cut into chunks of one SIMD
// register (16 pixels with AVX-512, 8 with AVX2). The tile's depth-ordered entries are
// taken in batches: a batch's Gaussians are gathered side by side and, for each chunk,
// listed in order if their footprint (include/pixel.h) reaches it; then each chunk runs
// through its list with its pixels' state (transmittance, colour sums) in registers, as
// a GPU thread runs through a tile's list, and stops when all its pixels are done. A
// thin Gaussian crossing a tile is met by the few chunks it reaches, not the 16x16 square.
//
// Forward keeps, per pixel, the final transmittance and the flat index of the last
// Gaussian that contributed, and, when a backward will follow, its batches (gathered
// Gaussians and chunk lists). Backward walks those batches back to front from the
// largest such index, recovering each pixel's transmittance by division, and sums each
// entry's gradients over the chunks it reaches in vector registers, reduced across lanes
// once per entry into one record per (tile, Gaussian); a final parallel pass sums each
// Gaussian's records in tile order, so there are no atomics and the result does not
// depend on the thread count.
#include <algorithm>
#include <cstring>

#if defined(__SSE__)
#include <immintrin.h>
#endif

#include "include/launchers.h"
#include "include/threads_cpu.h"
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
// a few entries ahead hides the cache misses behind the current entry's footprint work
// (a loop of the loads alone, then the footprints, measured 11% slower at 100k).
constexpr int PREFETCH_AHEAD = 8;

inline void prefetch_gaussian(int g, const float* means2d, const float* conics,
                              const float* opacities, const float* features) {
    __builtin_prefetch(means2d + 2 * g);
    __builtin_prefetch(conics + 3 * g);
    __builtin_prefetch(opacities + g);
    __builtin_prefetch(features + CHANNELS * g);
}

// Pixels of a row processed together: one SIMD register of floats (a GCC vector type, so
// a chunk's state stays in registers while it runs through its list).
#if defined(__AVX512F__)
constexpr int LANES = 16;
#else
constexpr int LANES = 8;
#endif
constexpr int CHUNKS = TILE / LANES;
static_assert(TILE % LANES == 0, "a tile row is a whole number of chunks");
typedef float Lanes __attribute__((vector_size(4 * LANES)));
typedef int32_t LaneMask __attribute__((vector_size(4 * LANES)));  // -1 (true) or 0 per lane

inline Lanes splat(float v) { return Lanes{} + v; }
inline Lanes load_lanes(const float* p) { Lanes v; memcpy(&v, p, sizeof v); return v; }
inline void store_lanes(float* p, Lanes v) { memcpy(p, &v, sizeof v); }
inline LaneMask load_mask(const int32_t* p) { LaneMask v; memcpy(&v, p, sizeof v); return v; }
inline void store_mask(int32_t* p, LaneMask v) { memcpy(p, &v, sizeof v); }

// out[j] = the sum of v[j]'s lanes, for j < count <= 8 (the rest of v is ignored).
inline void lane_sums(const Lanes* v, int count, float* out) {
#if defined(__AVX__)
    __m256 q[8];
    for (int j = 0; j < 8; ++j) {
        const Lanes x = j < count ? v[j] : splat(0.0f);
#if defined(__AVX512F__)  // the two halves of 16 lanes first
        const __m512 z = reinterpret_cast<__m512>(x);
        q[j] = _mm256_add_ps(_mm512_castps512_ps256(z),
                             _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(z), 1)));
#else
        q[j] = reinterpret_cast<__m256>(x);
#endif
    }
    // pairwise sums: lane j of the result ends up with all of q[j]
    const __m256 a = _mm256_hadd_ps(_mm256_hadd_ps(q[0], q[1]), _mm256_hadd_ps(q[2], q[3]));
    const __m256 b = _mm256_hadd_ps(_mm256_hadd_ps(q[4], q[5]), _mm256_hadd_ps(q[6], q[7]));
    const __m256 sums = _mm256_add_ps(_mm256_permute2f128_ps(a, b, 0x20), _mm256_permute2f128_ps(a, b, 0x31));
    alignas(32) float all[8];
    _mm256_store_ps(all, sums);
    for (int j = 0; j < count; ++j) out[j] = all[j];
#else
    for (int j = 0; j < count; ++j) {
        float s = 0.0f;
        for (int c = 0; c < LANES; ++c) s += v[j][c];
        out[j] = s;
    }
#endif
}

// One bit per lane, lane c in bit c.
inline uint32_t lane_bits(LaneMask m) {
#if defined(__AVX512F__)
    return _mm512_cmplt_epi32_mask(reinterpret_cast<__m512i>(m), _mm512_setzero_si512());
#elif defined(__AVX__)
    return _mm256_movemask_ps(reinterpret_cast<__m256>(m));
#else
    uint32_t bits = 0;
    for (int c = 0; c < LANES; ++c) bits |= static_cast<uint32_t>(m[c] != 0) << c;
    return bits;
#endif
}

inline Lanes sqrt_lanes(Lanes x) {
#if defined(__AVX512F__)
    return reinterpret_cast<Lanes>(_mm512_sqrt_ps(reinterpret_cast<__m512>(x)));
#elif defined(__AVX__)
    return reinterpret_cast<Lanes>(_mm256_sqrt_ps(reinterpret_cast<__m256>(x)));
#else
    for (int c = 0; c < LANES; ++c) x[c] = sqrtf(x[c]);
    return x;
#endif
}

// floor on every lane: truncation, corrected where it rounded up (negative inputs)
inline Lanes floor_lanes(Lanes x) {
    LaneMask n = __builtin_convertvector(x, LaneMask);
    n += __builtin_convertvector(n, Lanes) > x;  // true is -1
    return __builtin_convertvector(n, Lanes);
}

inline Lanes clamp_lanes(Lanes x, float bound) {
    x = x < bound ? x : splat(bound);
    return x > -bound ? x : splat(-bound);
}

// How many lanes of a mask are set.
inline int lanes_set(LaneMask m) { return __builtin_popcount(lane_bits(m)); }

// fast_exp (include/sc_math.h) on every lane: its exp_reduce and exp_poly, the same floor and
// the same power of two. With AVX-512 the floor is one vrndscaleps and the scaling one vscalefps
// (exact: 2^n is a normal float for x >= -80), 3 instructions where the conversions and the
// exponent's bits took 9, same bits (the exp and the clamps after it are a third of the
// compositing backward's time at 120x67: measured by leaving them out).
inline Lanes exp_lanes(Lanes x) {
    x = x > -80.0f ? x : splat(-80.0f);
#if defined(__AVX512F__)
    const __m512 nf = _mm512_roundscale_ps(reinterpret_cast<__m512>(x * 1.44269504088896341f + 0.5f),
                                           _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    const Lanes p = exp_poly(exp_reduce(x, reinterpret_cast<Lanes>(nf)));
    return reinterpret_cast<Lanes>(_mm512_scalef_ps(reinterpret_cast<__m512>(p), nf));
#else
    const Lanes nf = floor_lanes(x * 1.44269504088896341f + 0.5f);
    const LaneMask n = __builtin_convertvector(nf, LaneMask);
    return exp_poly(exp_reduce(x, nf)) * reinterpret_cast<Lanes>((n + 127) << 23);
#endif
}

// pixel_alpha (include/pixel.h) for one chunk: pixel offsets dx per lane, one dy. Both
// passes call this, so the backward sees the forward's alphas bit for bit. `vis` gets
// exp(-sigma), `clamped` where ALPHA_MAX bit.
inline Lanes chunk_alpha(float c0, float c1, float c2, float op, Lanes dx, float dy, Lanes& vis,
                         LaneMask& clamped) {
    const Lanes sigma = 0.5f * (c0 * dx * dx + c2 * dy * dy) + c1 * dx * dy;
    vis = exp_lanes(-sigma);
    const Lanes raw = op * vis;
    clamped = raw > ALPHA_MAX;
    const Lanes alpha = clamped ? splat(ALPHA_MAX) : raw;
    const Lanes kept = alpha >= ALPHA_MIN ? alpha : splat(0.0f);
    return sigma < 0.0f ? splat(0.0f) : kept;
}

// The pixel centres' x offsets of a chunk's lanes from its first: 0, 1, 2, ...
inline Lanes lane_offsets() {
    Lanes v;
    for (int c = 0; c < LANES; ++c) v[c] = static_cast<float>(c);
    return v;
}

// The tile rows whose pixel centres the footprint reaches in chunk h, as bits (row r in
// bit r of reach[h]); `dy0` is row 0's centre minus the Gaussian's, `base` column 0's.
// All rows at once, LANES to a register: a row reaches the columns within half a pixel
// of its chord (row_edges in include/pixel.h), clipped to the tile.
inline void chunk_reach(const Footprint& fp, float dy0, float base, uint32_t (&reach)[CHUNKS]) {
    for (int h = 0; h < CHUNKS; ++h) reach[h] = 0;
    for (int v = 0; v < TILE / LANES; ++v) {
        const Lanes dy = lane_offsets() + (dy0 + v * LANES);
        const Lanes disc = fp.two_L_c0 - fp.det * dy * dy;
        const Lanes half = sqrt_lanes(disc > 0.0f ? disc : splat(0.0f)) * fp.inv_c0;
        const Lanes centre = -fp.c1 * dy * fp.inv_c0 - base;
        // clamped far outside the tile first: floor_lanes goes through int32
        const Lanes c_lo = -floor_lanes(clamp_lanes(half - centre + 0.5f, 1e6f));  // ceil(centre - half - 0.5)
        const Lanes c_hi = floor_lanes(clamp_lanes(centre + half + 0.5f, 1e6f));
        const LaneMask row = (disc >= 0.0f) & (c_lo <= c_hi);
        for (int h = 0; h < CHUNKS; ++h)
            reach[h] |= lane_bits(row & (c_lo < float((h + 1) * LANES)) & (c_hi >= float(h * LANES))) << (v * LANES);
    }
}

// Rows [r0, r1] of the tile that a Gaussian centred at row coordinate `my` can reach.
void reachable_rows(float my, float reach, const TileGeometry& t, int& r0, int& r1) {
    r0 = std::max(0, static_cast<int>(floorf(my - reach - t.y0 - 0.5f)));
    r1 = std::min(t.rows - 1, static_cast<int>(ceilf(my + reach - t.y0 - 0.5f)));
}

// Entries of a tile taken together: a batch's Gaussians side by side and, per chunk, the
// batch entries that reach it in depth order. 128 measured 5-7% faster than 64 at 100k
// Gaussians (100x100) and 256 no faster; the lists index a batch in one byte.
constexpr int BATCH = 128;
static_assert(BATCH <= 256, "list entries are uint8_t");

struct Batch {
    int first, size;  // entries [first, first + size) of the tile
    alignas(64) float mx[BATCH], my[BATCH], c0[BATCH], c1[BATCH], c2[BATCH], op[BATCH];
    alignas(64) float f[CHANNELS][BATCH];
    int count[TILE][CHUNKS];
    uint8_t list[TILE][CHUNKS][BATCH];
    uint8_t list_end[16];  // room for list_rows' last 16-byte store past the last list
};

// Per batch entry, the rows of each chunk it is listed in (bit r): what the lists are made from.
struct Reach {
    alignas(64) uint32_t rows[CHUNKS][BATCH];
};

// b.list and b.count from each entry's rows: for every row, the entries whose bit is set,
// in order. With AVX-512, 16 entries at a time by a compress (a scalar loop over each entry's
// rows was a third of gather: its trip counts vary, and its branches mispredict).
void list_rows(Batch& b, const Reach& reach, int size) {
#if defined(__AVX512F__)
    const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for (int h = 0; h < CHUNKS; ++h)
        for (int r = 0; r < TILE; ++r) {
            const __m512i bit = _mm512_set1_epi32(1 << r);
            int count = 0;
            for (int i0 = 0; i0 < size; i0 += 16) {
                const __mmask16 valid = size - i0 >= 16 ? __mmask16(0xffff) : __mmask16((1u << (size - i0)) - 1);
                const __mmask16 k = _mm512_mask_test_epi32_mask(valid, _mm512_load_si512(reach.rows[h] + i0), bit);
                const __m512i idx = _mm512_add_epi32(iota, _mm512_set1_epi32(i0));
                _mm_storeu_si128(reinterpret_cast<__m128i*>(b.list[r][h] + count),
                                 _mm512_cvtepi32_epi8(_mm512_maskz_compress_epi32(k, idx)));
                count += __builtin_popcount(k);
            }
            b.count[r][h] = count;
        }
#else
    for (int r = 0; r < TILE; ++r)
        for (int h = 0; h < CHUNKS; ++h) b.count[r][h] = 0;
    for (int i = 0; i < size; ++i)
        for (int h = 0; h < CHUNKS; ++h)
            for (uint32_t m = reach.rows[h][i]; m != 0; m &= m - 1) {
                const int r = __builtin_ctz(m);
                b.list[r][h][b.count[r][h]++] = static_cast<uint8_t>(i);
            }
#endif
}

// Fills `b` with entries [first, first + size) of tile `t`, listing each only in the
// chunks whose bit is set in open (bit r of open[h]: chunk h of row r can still take it).
void gather(Batch& b, int first, int size, const TileGeometry& t, const uint32_t (&open)[CHUNKS],
            const float* means2d, const float* conics, const float* opacities,
            const float* features, const int32_t* flat_ids) {
    b.first = first;
    b.size = size;
    Reach reached;
    for (int i = 0; i < size; ++i) {
        const int g = flat_ids[first + i];
        if (i + PREFETCH_AHEAD < size)
            prefetch_gaussian(flat_ids[first + i + PREFETCH_AHEAD], means2d, conics, opacities, features);
        const float mx = means2d[2 * g], my = means2d[2 * g + 1];
        const float c0 = conics[3 * g], c1 = conics[3 * g + 1], c2 = conics[3 * g + 2];
        const float op = opacities[g];
        b.mx[i] = mx; b.my[i] = my; b.c0[i] = c0; b.c1[i] = c1; b.c2[i] = c2; b.op[i] = op;
        for (int ch = 0; ch < CHANNELS; ++ch) b.f[ch][i] = features[CHANNELS * g + ch];
        const Footprint fp = footprint(c0, c1, c2, op);
        uint32_t reach[CHUNKS];
        if (fp.exact) {
            chunk_reach(fp, t.y0 + 0.5f - my, t.x0 + 0.5f - mx, reach);
        } else {  // every pixel of the rows within reach_y
            int r0, r1;
            reachable_rows(my, reach_y(c0, c1, c2, op), t, r0, r1);
            const uint32_t rows = r0 <= r1 ? ((2u << r1) - 1) & ~((1u << r0) - 1) : 0u;
            for (int h = 0; h < CHUNKS; ++h) reach[h] = rows;
        }
        for (int h = 0; h < CHUNKS; ++h) reached.rows[h][i] = reach[h] & open[h];
    }
    list_rows(b, reached, size);
}

}  // namespace

size_t raster_batch_bytes() { return sizeof(Batch); }
int raster_batch_size() { return BATCH; }

void raster_fwd_cpu(const float* means2d, const float* conics, const float* opacities,
                    const float* features, const int32_t* tile_offsets, const int32_t* flat_ids,
                    int width, int height, float* out, float* T_final, int32_t* last,
                    void* batches, const int32_t* batch_offsets) {
    const int tiles = ((width + TILE - 1) / TILE) * ((height + TILE - 1) / TILE);
#pragma omp parallel
    {
    const FlushDenormals ftz;
    Batch scratch;
#pragma omp for schedule(dynamic, 1) nowait  // the region's end is the only wait
    for (int tile = 0; tile < tiles; ++tile) {
        const TileGeometry t = tile_geometry(tile, width, height);
        Batch* kept = batches ? static_cast<Batch*>(batches) + batch_offsets[tile] : nullptr;
        alignas(64) float T[TILE][TILE], live[TILE][TILE], acc[CHANNELS][TILE][TILE];
        alignas(64) int32_t last_k[TILE][TILE];
        int chunk_live[TILE][CHUNKS];  // pixels of each chunk still above T_MIN
        uint32_t open[CHUNKS] = {};  // bit r of open[h]: chunk h of row r still takes entries
        for (int r = 0; r < TILE; ++r) {
            for (int h = 0; h < CHUNKS; ++h) {
                chunk_live[r][h] = r < t.rows ? std::clamp(t.cols - h * LANES, 0, LANES) : 0;
                open[h] |= static_cast<uint32_t>(chunk_live[r][h] > 0) << r;
            }
            for (int c = 0; c < TILE; ++c) {
                T[r][c] = 1.0f;
                live[r][c] = (r < t.rows && c < t.cols) ? 1.0f : 0.0f;
                last_k[r][c] = -1;
                for (int ch = 0; ch < CHANNELS; ++ch) acc[ch][r][c] = 0.0f;
            }
        }
        int n_live = t.rows * t.cols;
        const Lanes offsets = lane_offsets();
        for (int first = tile_offsets[tile]; first < tile_offsets[tile + 1] && n_live > 0; first += BATCH) {
            Batch& b = kept ? kept[(first - tile_offsets[tile]) / BATCH] : scratch;
            gather(b, first, std::min(BATCH, tile_offsets[tile + 1] - first), t, open, means2d, conics,
                   opacities, features, flat_ids);
            for (int r = 0; r < t.rows; ++r)
                for (int h = 0; h < CHUNKS; ++h) {
                    if (b.count[r][h] == 0) continue;
                    const int o = h * LANES;
                    Lanes Tc = load_lanes(T[r] + o), lc = load_lanes(live[r] + o);
                    Lanes a0 = load_lanes(acc[0][r] + o), a1 = load_lanes(acc[1][r] + o);
                    Lanes a2 = load_lanes(acc[2][r] + o), a3 = load_lanes(acc[3][r] + o);
                    LaneMask kc = load_mask(last_k[r] + o);
                    const Lanes px = offsets + (t.x0 + o + 0.5f);
                    const float py = t.y0 + r + 0.5f;
                    int alive = chunk_live[r][h];
                    for (int j = 0; j < b.count[r][h]; ++j) {
                        const int i = b.list[r][h][j];
                        Lanes vis;
                        LaneMask clamped;
                        const Lanes alpha = chunk_alpha(b.c0[i], b.c1[i], b.c2[i], b.op[i], px - b.mx[i],
                                                        py - b.my[i], vis, clamped) * lc;
                        const Lanes test_T = Tc * (1.0f - alpha);
                        const LaneMask touched = alpha > 0.0f;
                        const LaneMask term = touched & (test_T < T_MIN);
                        const LaneMask use = touched & ~term;
                        const Lanes w = use ? alpha * Tc : splat(0.0f);
                        a0 += w * b.f[0][i];
                        a1 += w * b.f[1][i];
                        a2 += w * b.f[2][i];
                        a3 += w * b.f[3][i];
                        Tc = use ? test_T : Tc;
                        kc = use ? LaneMask{} + (b.first + i) : kc;
                        if (const int died = lanes_set(term)) {
                            lc = term ? splat(0.0f) : lc;
                            alive -= died;
                            n_live -= died;
                            if (alive == 0) break;
                        }
                    }
                    chunk_live[r][h] = alive;
                    if (alive == 0) open[h] &= ~(1u << r);
                    store_lanes(T[r] + o, Tc);
                    store_lanes(live[r] + o, lc);
                    store_lanes(acc[0][r] + o, a0);
                    store_lanes(acc[1][r] + o, a1);
                    store_lanes(acc[2][r] + o, a2);
                    store_lanes(acc[3][r] + o, a3);
                    store_mask(last_k[r] + o, kc);
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

void raster_bwd_cpu(int n, const void* batches, const int32_t* batch_offsets,
                    const int32_t* tile_offsets, const int32_t* gauss_offsets, const int32_t* entry_slots,
                    int width, int height, const float* T_final, const int32_t* last,
                    const float* v_out, const float* v_alpha, float* entry_grads,
                    float* v_means2d, float* v_conics, float* v_opacities, float* v_features) {
    const int tiles = ((width + TILE - 1) / TILE) * ((height + TILE - 1) / TILE);
#pragma omp parallel
    {
    const FlushDenormals ftz;
    Lanes grads[BATCH][RASTER_GRADS];  // per batch entry, per lane: its gradients summed over chunks
#pragma omp for schedule(dynamic, 1) nowait  // the region's end is the only wait
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
            for (int j = 0; j < RASTER_GRADS; ++j) entry_grads[int64_t(entry_slots[k]) * RASTER_GRADS + j] = 0.0f;
        const Lanes offsets = lane_offsets();
        // The forward's batches back to front, from the one holding the last entry any pixel
        // took (the forward gathered every batch up to it; its lists leave out only chunks
        // whose pixels had all stopped, which take nothing here either).
        const Batch* kept = static_cast<const Batch*>(batches) + batch_offsets[tile];
        for (int bi = max_last < start ? -1 : (max_last - start) / BATCH; bi >= 0; --bi) {
            const Batch& b = kept[bi];
            const int first = b.first, size = b.size;
            for (int i = 0; i < size; ++i)
                for (int q = 0; q < RASTER_GRADS; ++q) grads[i][q] = splat(0.0f);
            for (int r = 0; r < t.rows; ++r)
                for (int h = 0; h < CHUNKS; ++h) {
                    if (b.count[r][h] == 0) continue;
                    const int o = h * LANES;
                    Lanes Tc = load_lanes(T[r] + o);
                    Lanes S0 = load_lanes(S[0][r] + o), S1 = load_lanes(S[1][r] + o);
                    Lanes S2 = load_lanes(S[2][r] + o), S3 = load_lanes(S[3][r] + o);
                    const Lanes vo0 = load_lanes(vo[0][r] + o), vo1 = load_lanes(vo[1][r] + o);
                    const Lanes vo2 = load_lanes(vo[2][r] + o), vo3 = load_lanes(vo[3][r] + o);
                    const Lanes v_alpha_T = load_lanes(va[r] + o) * load_lanes(Tf[r] + o);
                    const LaneMask kc = load_mask(last_k[r] + o);
                    const Lanes px = offsets + (t.x0 + o + 0.5f);
                    const float py = t.y0 + r + 0.5f;
                    int j = b.count[r][h] - 1;
                    while (j >= 0 && b.first + b.list[r][h][j] > chunk_last[r][h]) --j;  // behind every pixel
                    for (; j >= 0; --j) {
                        const int i = b.list[r][h][j];
                        const float c0 = b.c0[i], c1 = b.c1[i], c2 = b.c2[i];
                        const Lanes dx = px - b.mx[i];
                        const float dy = py - b.my[i];
                        Lanes vis;
                        LaneMask clamped;
                        const Lanes a = chunk_alpha(c0, c1, c2, b.op[i], dx, dy, vis, clamped);
                        // alpha 0: skipped at this pixel (or behind its last), nothing changes
                        const Lanes alpha = b.first + i <= kc ? a : splat(0.0f);
                        const Lanes ra = 1.0f / (1.0f - alpha);  // blend_bwd_alpha (include/pixel.h)
                        Tc *= ra;
                        Lanes v_a = v_alpha_T * ra;
                        const Lanes w = alpha * Tc;
                        // blend_bwd_channel, per channel: dL/dalpha, S, dL/dfeature
                        v_a += (b.f[0][i] * Tc - S0 * ra) * vo0;
                        v_a += (b.f[1][i] * Tc - S1 * ra) * vo1;
                        v_a += (b.f[2][i] * Tc - S2 * ra) * vo2;
                        v_a += (b.f[3][i] * Tc - S3 * ra) * vo3;
                        S0 += b.f[0][i] * w;
                        S1 += b.f[1][i] * w;
                        S2 += b.f[2][i] * w;
                        S3 += b.f[3][i] * w;
                        Lanes* g = grads[i];
                        g[6] += w * vo0;
                        g[7] += w * vo1;
                        g[8] += w * vo2;
                        g[9] += w * vo3;
                        v_a = clamped ? splat(0.0f) : v_a;
                        v_a = alpha > 0.0f ? v_a : splat(0.0f);
                        g[5] += vis * v_a;
                        const Lanes v_sigma = -alpha * v_a;
                        g[2] += 0.5f * dx * dx * v_sigma;
                        g[3] += dx * dy * v_sigma;
                        g[4] += 0.5f * dy * dy * v_sigma;
                        g[0] += -(c0 * dx + c1 * dy) * v_sigma;
                        g[1] += -(c1 * dx + c2 * dy) * v_sigma;
                    }
                    store_lanes(T[r] + o, Tc);
                    store_lanes(S[0][r] + o, S0);
                    store_lanes(S[1][r] + o, S1);
                    store_lanes(S[2][r] + o, S2);
                    store_lanes(S[3][r] + o, S3);
                }
            for (int i = 0; i < size; ++i) {
                float* e = entry_grads + int64_t(entry_slots[first + i]) * RASTER_GRADS;
                lane_sums(grads[i], 8, e);
                lane_sums(grads[i] + 8, RASTER_GRADS - 8, e + 8);
            }
        }
    }
    }  // omp parallel
    // Sum each Gaussian's records, in tile order (its slots, side by side): a region of its own,
    // opened only when large enough (include/threads_cpu.h), instead of a barrier in the one above
#pragma omp parallel for schedule(static, 256) if (worth_threads(gauss_offsets[n], 8))  // ns an entry
    for (int g = 0; g < n; ++g) {
        float sum[RASTER_GRADS] = {};
        for (int j = gauss_offsets[g]; j < gauss_offsets[g + 1]; ++j) {
            const float* e = entry_grads + int64_t(j) * RASTER_GRADS;
            for (int q = 0; q < RASTER_GRADS; ++q) sum[q] += e[q];
        }
        v_means2d[2 * g] = sum[0]; v_means2d[2 * g + 1] = sum[1];
        v_conics[3 * g] = sum[2]; v_conics[3 * g + 1] = sum[3]; v_conics[3 * g + 2] = sum[4];
        v_opacities[g] = sum[5];
        for (int ch = 0; ch < CHANNELS; ++ch) v_features[CHANNELS * g + ch] = sum[6 + ch];
    }
}

}  // namespace sc
