// CUDA tile binning, in the usual three steps around a sort done by the caller:
// count the tiles each Gaussian's footprint touches (include/launchers.h visit_tiles, the
// same tiles the CPU path lists); after an inclusive scan of the counts,
// emit one (tile << 32 | depth bits, Gaussian id) pair per touched tile; after a
// stable sort of the keys, mark where each tile's run starts. Sorting by these keys
// gives the same per-tile depth order (ties by index) as the CPU path and the reference.
#include <cuda_runtime.h>

#include "include/launchers.h"

namespace sc {

namespace {

constexpr int THREADS = 256;

__global__ void count_kernel(int n, const float* means2d, const float* conics, const float* opacities,
                             const int32_t* radii, int width, int height, int32_t* counts) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    if (radii[i] <= 0) {
        counts[i] = 0;
        return;
    }
    counts[i] = visit_tiles(means2d[2 * i], means2d[2 * i + 1], radii[i], conics[3 * i], conics[3 * i + 1],
                            conics[3 * i + 2], opacities[i], width, height, [](int, int) {});
}

__global__ void emit_kernel(int n, const float* means2d, const float* conics, const float* opacities,
                            const int32_t* radii, const float* depths, const int64_t* offsets,
                            int width, int height, int64_t* keys, int32_t* values) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n || radii[i] <= 0) return;
    const int tiles_x = (width + TILE - 1) / TILE;
    int64_t cur = i == 0 ? 0 : offsets[i - 1];
    // depth > near > 0, so its bit pattern sorts like the float
    const int64_t depth_bits = static_cast<int64_t>(__float_as_uint(depths[i]));
    visit_tiles(means2d[2 * i], means2d[2 * i + 1], radii[i], conics[3 * i], conics[3 * i + 1],
                conics[3 * i + 2], opacities[i], width, height, [&](int tx, int ty) {
                    keys[cur] = (static_cast<int64_t>(ty * tiles_x + tx) << 32) | depth_bits;
                    values[cur] = i;
                    ++cur;
                });
}

__global__ void tile_ranges_kernel(int64_t m, const int64_t* sorted_keys, int tiles,
                                   int32_t* tile_offsets) {
    const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
    if (i >= m) return;
    const int tile = static_cast<int>(sorted_keys[i] >> 32);
    const int prev = i == 0 ? -1 : static_cast<int>(sorted_keys[i - 1] >> 32);
    for (int t = prev + 1; t <= tile; ++t) tile_offsets[t] = static_cast<int32_t>(i);
    if (i == m - 1)
        for (int t = tile + 1; t <= tiles; ++t) tile_offsets[t] = static_cast<int32_t>(m);
}

}  // namespace

void count_intersections_cuda(int n, const float* means2d, const float* conics,
                              const float* opacities, const int32_t* radii, int width, int height,
                              int32_t* counts, void* stream) {
    if (n == 0) return;
    count_kernel<<<(n + THREADS - 1) / THREADS, THREADS, 0, static_cast<cudaStream_t>(stream)>>>(
        n, means2d, conics, opacities, radii, width, height, counts);
}

void emit_intersections_cuda(int n, const float* means2d, const float* conics,
                             const float* opacities, const int32_t* radii, const float* depths,
                             const int64_t* offsets, int width, int height, int64_t* keys,
                             int32_t* values, void* stream) {
    if (n == 0) return;
    emit_kernel<<<(n + THREADS - 1) / THREADS, THREADS, 0, static_cast<cudaStream_t>(stream)>>>(
        n, means2d, conics, opacities, radii, depths, offsets, width, height, keys, values);
}

void tile_ranges_cuda(int64_t m, const int64_t* sorted_keys, int tiles, int32_t* tile_offsets,
                      void* stream) {
    auto s = static_cast<cudaStream_t>(stream);
    if (m == 0) {
        cudaMemsetAsync(tile_offsets, 0, sizeof(int32_t) * (tiles + 1), s);
        return;
    }
    tile_ranges_kernel<<<static_cast<int>((m + THREADS - 1) / THREADS), THREADS, 0, s>>>(
        m, sorted_keys, tiles, tile_offsets);
}

}  // namespace sc
