// CUDA compositing, forward and backward: one 16x16 thread block per tile, one
// thread per pixel, Gaussians staged through shared memory in batches of 256.
//
// Forward keeps, per pixel, the final transmittance and the flat index of the last
// contributing entry. Backward walks the tile's list back to front from the block's
// largest such index, recovering transmittance by division (include/pixel.h), sums
// each Gaussian's gradient over a warp with shuffles, and adds it atomically.
#include <cuda_runtime.h>

#include "include/launchers.h"
#include "include/pixel.h"

namespace sc {

namespace {

constexpr int BLOCK = TILE * TILE;

__global__ void raster_fwd_kernel(const float* means2d, const float* conics, const float* opacities,
                                  const float* features, const int32_t* tile_offsets,
                                  const int32_t* flat_ids, int width, int height, float* out,
                                  float* T_final, int32_t* last) {
    const int tiles_x = (width + TILE - 1) / TILE;
    const int tile = blockIdx.x;
    const int px = (tile % tiles_x) * TILE + threadIdx.x, py = (tile / tiles_x) * TILE + threadIdx.y;
    const int tid = threadIdx.y * TILE + threadIdx.x;
    const bool inside = px < width && py < height;
    const int start = tile_offsets[tile], end = tile_offsets[tile + 1];

    __shared__ float s_xy[BLOCK][2], s_conic[BLOCK][3], s_opac[BLOCK], s_feat[BLOCK][CHANNELS];
    float T = 1.0f, acc[CHANNELS] = {0.0f, 0.0f, 0.0f, 0.0f};
    int32_t last_k = -1;
    bool done = !inside;
    const float fx = px + 0.5f, fy = py + 0.5f;

    for (int batch = start; batch < end; batch += BLOCK) {
        if (__syncthreads_count(done) == BLOCK) break;
        const int idx = batch + tid;
        if (idx < end) {
            const int g = flat_ids[idx];
            s_xy[tid][0] = means2d[2 * g]; s_xy[tid][1] = means2d[2 * g + 1];
            s_conic[tid][0] = conics[3 * g]; s_conic[tid][1] = conics[3 * g + 1];
            s_conic[tid][2] = conics[3 * g + 2];
            s_opac[tid] = opacities[g];
            for (int ch = 0; ch < CHANNELS; ++ch) s_feat[tid][ch] = features[CHANNELS * g + ch];
        }
        __syncthreads();
        const int count = min(BLOCK, end - batch);
        for (int j = 0; j < count && !done; ++j) {
            float vis;
            bool clamped;
            const float alpha = pixel_alpha(s_conic[j][0], s_conic[j][1], s_conic[j][2], s_opac[j],
                                            fx - s_xy[j][0], fy - s_xy[j][1], vis, clamped);
            if (alpha == 0.0f) continue;
            const float test_T = T * (1.0f - alpha);
            if (test_T < T_MIN) {
                done = true;
                break;
            }
            const float w = alpha * T;
            for (int ch = 0; ch < CHANNELS; ++ch) acc[ch] += w * s_feat[j][ch];
            T = test_T;
            last_k = batch + j;
        }
    }
    if (inside) {
        const int64_t p = static_cast<int64_t>(py) * width + px;
        for (int ch = 0; ch < CHANNELS; ++ch) out[p * CHANNELS + ch] = acc[ch];
        T_final[p] = T;
        last[p] = last_k;
    }
}

__device__ __forceinline__ float warp_sum(float v) {
    for (int offset = 16; offset > 0; offset /= 2) v += __shfl_down_sync(0xffffffffu, v, offset);
    return v;
}

__global__ void raster_bwd_kernel(const float* means2d, const float* conics, const float* opacities,
                                  const float* features, const int32_t* tile_offsets,
                                  const int32_t* flat_ids, int width, int height,
                                  const float* T_final, const int32_t* last, const float* v_out,
                                  const float* v_alpha, float* v_means2d, float* v_conics,
                                  float* v_opacities, float* v_features) {
    const int tiles_x = (width + TILE - 1) / TILE;
    const int tile = blockIdx.x;
    const int px = (tile % tiles_x) * TILE + threadIdx.x, py = (tile / tiles_x) * TILE + threadIdx.y;
    const int tid = threadIdx.y * TILE + threadIdx.x;
    const bool inside = px < width && py < height;
    const int start = tile_offsets[tile];
    const int64_t p = static_cast<int64_t>(inside ? py : 0) * width + (inside ? px : 0);

    __shared__ int32_t s_id[BLOCK];
    __shared__ float s_xy[BLOCK][2], s_conic[BLOCK][3], s_opac[BLOCK], s_feat[BLOCK][CHANNELS];
    __shared__ int32_t s_max_last;
    if (tid == 0) s_max_last = start - 1;
    __syncthreads();
    const int32_t last_k = inside ? last[p] : -1;
    atomicMax(&s_max_last, last_k);
    __syncthreads();
    const int end = s_max_last + 1;

    const float Tf = inside ? T_final[p] : 1.0f;
    const float va = inside ? v_alpha[p] : 0.0f;
    float vo[CHANNELS], S[CHANNELS] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int ch = 0; ch < CHANNELS; ++ch) vo[ch] = inside ? v_out[p * CHANNELS + ch] : 0.0f;
    float T = Tf;
    const float fx = px + 0.5f, fy = py + 0.5f;
    const int lane = tid % 32;

    for (int batch_end = end; batch_end > start; batch_end -= BLOCK) {
        const int count = min(BLOCK, batch_end - start);
        __syncthreads();
        if (tid < count) {
            const int g = flat_ids[batch_end - 1 - tid];  // back to front
            s_id[tid] = g;
            s_xy[tid][0] = means2d[2 * g]; s_xy[tid][1] = means2d[2 * g + 1];
            s_conic[tid][0] = conics[3 * g]; s_conic[tid][1] = conics[3 * g + 1];
            s_conic[tid][2] = conics[3 * g + 2];
            s_opac[tid] = opacities[g];
            for (int ch = 0; ch < CHANNELS; ++ch) s_feat[tid][ch] = features[CHANNELS * g + ch];
        }
        __syncthreads();
        for (int j = 0; j < count; ++j) {
            const int k = batch_end - 1 - j;
            const float dx = fx - s_xy[j][0], dy = fy - s_xy[j][1];
            float vis;
            bool clamped;
            float alpha = pixel_alpha(s_conic[j][0], s_conic[j][1], s_conic[j][2], s_opac[j], dx, dy,
                                      vis, clamped);
            if (k > last_k) alpha = 0.0f;
            float g[RASTER_GRADS] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
            if (alpha > 0.0f) {
                float ra, v_a;
                const float w = blend_bwd_alpha(alpha, va, Tf, T, ra, v_a);
                for (int ch = 0; ch < CHANNELS; ++ch)
                    g[6 + ch] = blend_bwd_channel(s_feat[j][ch], vo[ch], w, T, ra, S[ch], v_a);
                if (clamped) v_a = 0.0f;
                const float v_sigma = -alpha * v_a;
                const float c0 = s_conic[j][0], c1 = s_conic[j][1], c2 = s_conic[j][2];
                g[0] = -(c0 * dx + c1 * dy) * v_sigma;
                g[1] = -(c1 * dx + c2 * dy) * v_sigma;
                g[2] = 0.5f * dx * dx * v_sigma;
                g[3] = dx * dy * v_sigma;
                g[4] = 0.5f * dy * dy * v_sigma;
                g[5] = vis * v_a;
            }
            bool any = __any_sync(0xffffffffu, alpha > 0.0f);
            if (!any) continue;
            for (int q = 0; q < RASTER_GRADS; ++q) g[q] = warp_sum(g[q]);
            if (lane == 0) {
                const int id = s_id[j];
                atomicAdd(v_means2d + 2 * id, g[0]);
                atomicAdd(v_means2d + 2 * id + 1, g[1]);
                atomicAdd(v_conics + 3 * id, g[2]);
                atomicAdd(v_conics + 3 * id + 1, g[3]);
                atomicAdd(v_conics + 3 * id + 2, g[4]);
                atomicAdd(v_opacities + id, g[5]);
                for (int ch = 0; ch < CHANNELS; ++ch) atomicAdd(v_features + CHANNELS * id + ch, g[6 + ch]);
            }
        }
    }
}

}  // namespace

void raster_fwd_cuda(const float* means2d, const float* conics, const float* opacities,
                     const float* features, const int32_t* tile_offsets, const int32_t* flat_ids,
                     int width, int height, float* out, float* T_final, int32_t* last,
                     void* stream) {
    const int tiles = ((width + TILE - 1) / TILE) * ((height + TILE - 1) / TILE);
    raster_fwd_kernel<<<tiles, dim3(TILE, TILE), 0, static_cast<cudaStream_t>(stream)>>>(
        means2d, conics, opacities, features, tile_offsets, flat_ids, width, height, out, T_final, last);
}

void raster_bwd_cuda(const float* means2d, const float* conics, const float* opacities,
                     const float* features, const int32_t* tile_offsets, const int32_t* flat_ids,
                     int width, int height, const float* T_final, const int32_t* last,
                     const float* v_out, const float* v_alpha, float* v_means2d,
                     float* v_conics, float* v_opacities, float* v_features, void* stream) {
    const int tiles = ((width + TILE - 1) / TILE) * ((height + TILE - 1) / TILE);
    raster_bwd_kernel<<<tiles, dim3(TILE, TILE), 0, static_cast<cudaStream_t>(stream)>>>(
        means2d, conics, opacities, features, tile_offsets, flat_ids, width, height, T_final, last,
        v_out, v_alpha, v_means2d, v_conics, v_opacities, v_features);
}

}  // namespace sc
