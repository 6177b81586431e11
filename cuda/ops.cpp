// The torch-facing layer: checks, allocation and device dispatch for the kernels
// declared in include/launchers.h. No math lives here but the stages' elementwise glue on
// CUDA, as ATen calls (the CPU's is glue_cpu.cpp). Python sees the stages (project, sh_colors,
// composite, ...); the single kernels' wrappers (sh_fwd, raster_fwd, ...) serve them. At the end,
// the CPU trainer's loss: those stages composed, forward and backward, one call each. Built by
// splatcine/raster/_native.py with torch.utils.cpp_extension.load; the CUDA
// launchers are linked only when SC_WITH_CUDA is defined.
#include <torch/extension.h>

#include <tuple>
#include <vector>

#include "include/launchers.h"

// CUDA launches go to the stream Python passes in (torch.cuda.current_stream().cuda_stream),
// so this file needs no CUDA headers and compiles the same with and without SC_WITH_CUDA.
#define SC_STREAM() reinterpret_cast<void*>(stream)

using torch::Tensor;

namespace {

void check(const Tensor& t, const char* name, torch::ScalarType dtype = torch::kFloat32) {
    TORCH_CHECK(t.scalar_type() == dtype, "splatcine raster: ", name, " must be ",
                c10::toString(dtype), ", got ", t.scalar_type());
    TORCH_CHECK(t.is_contiguous(), "splatcine raster: ", name, " must be contiguous");
}

void check_device(const Tensor& t, const Tensor& ref, const char* name) {
    TORCH_CHECK(t.device() == ref.device(), "splatcine raster: ", name, " is on ", t.device(),
                " but means are on ", ref.device());
}

#ifndef SC_WITH_CUDA
[[noreturn]] void no_cuda() {
    TORCH_CHECK(false, "splatcine raster: this build has no CUDA kernels (torch saw no CUDA when it was built)");
}
#endif

sc::PinholeCamera make_camera(const Tensor& cam_from_world, const Tensor& K, int64_t width,
                              int64_t height, double near) {
    auto V = cam_from_world.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    auto Kc = K.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    const float* v = V.data_ptr<float>();
    const float* k = Kc.data_ptr<float>();
    sc::PinholeCamera cam;
    for (int i = 0; i < 3; ++i) {
        for (int j = 0; j < 3; ++j) cam.R[i * 3 + j] = v[i * 4 + j];
        cam.t[i] = v[i * 4 + 3];
    }
    cam.fx = k[0]; cam.fy = k[4]; cam.cx = k[2]; cam.cy = k[5];
    cam.width = static_cast<int>(width);
    cam.height = static_cast<int>(height);
    cam.near = static_cast<float>(near);
    return cam;
}

}  // namespace

std::tuple<Tensor, Tensor, Tensor, Tensor, Tensor> project_fwd(
    const Tensor& means, const Tensor& quats, const Tensor& scales, const Tensor& opacities,
    const Tensor& cam_from_world, const Tensor& K, int64_t width, int64_t height, double near,
    bool antialiased, int64_t stream) {
    for (auto& [t, name] : {std::pair{means, "means"}, {quats, "quats"}, {scales, "scales"}, {opacities, "opacities"}}) {
        check(t, name);
        check_device(t, means, name);
    }
    const int n = static_cast<int>(means.size(0));
    auto opts = means.options();
    auto means2d = torch::empty({n, 2}, opts), depths = torch::empty({n}, opts);
    auto conics = torch::empty({n, 3}, opts), comps = torch::empty({n}, opts);
    auto radii = torch::empty({n}, opts.dtype(torch::kInt32));
    const auto cam = make_camera(cam_from_world, K, width, height, near);
    if (means.is_cuda()) {
#ifdef SC_WITH_CUDA
        sc::project_fwd_cuda(n, means.data_ptr<float>(), quats.data_ptr<float>(), scales.data_ptr<float>(),
                             opacities.data_ptr<float>(), cam, antialiased, means2d.data_ptr<float>(),
                             depths.data_ptr<float>(), conics.data_ptr<float>(), comps.data_ptr<float>(),
                             radii.data_ptr<int32_t>(), SC_STREAM());
#else
        no_cuda();
#endif
    } else {
        sc::project_fwd_cpu(n, means.data_ptr<float>(), quats.data_ptr<float>(), scales.data_ptr<float>(),
                            opacities.data_ptr<float>(), cam, antialiased, means2d.data_ptr<float>(),
                            depths.data_ptr<float>(), conics.data_ptr<float>(), comps.data_ptr<float>(),
                            radii.data_ptr<int32_t>());
    }
    return {means2d, depths, conics, comps, radii};
}

std::tuple<Tensor, Tensor, Tensor> project_bwd(
    const Tensor& means, const Tensor& quats, const Tensor& scales, const Tensor& cam_from_world,
    const Tensor& K, int64_t width, int64_t height, double near, bool antialiased, const Tensor& radii,
    const Tensor& v_means2d, const Tensor& v_depths, const Tensor& v_conics, const Tensor& v_comps, int64_t stream) {
    check(radii, "radii", torch::kInt32);
    for (auto& [t, name] : {std::pair{v_means2d, "v_means2d"}, {v_depths, "v_depths"}, {v_conics, "v_conics"}, {v_comps, "v_comps"}})
        check(t, name);
    const int n = static_cast<int>(means.size(0));
    auto v_means = torch::empty_like(means), v_quats = torch::empty_like(quats);
    auto v_scales = torch::empty_like(scales);
    const auto cam = make_camera(cam_from_world, K, width, height, near);
    if (means.is_cuda()) {
#ifdef SC_WITH_CUDA
        sc::project_bwd_cuda(n, means.data_ptr<float>(), quats.data_ptr<float>(), scales.data_ptr<float>(),
                             cam, antialiased, radii.data_ptr<int32_t>(), v_means2d.data_ptr<float>(),
                             v_depths.data_ptr<float>(), v_conics.data_ptr<float>(), v_comps.data_ptr<float>(),
                             v_means.data_ptr<float>(), v_quats.data_ptr<float>(), v_scales.data_ptr<float>(),
                             SC_STREAM());
#else
        no_cuda();
#endif
    } else {
        sc::project_bwd_cpu(n, means.data_ptr<float>(), quats.data_ptr<float>(), scales.data_ptr<float>(),
                            cam, antialiased, radii.data_ptr<int32_t>(), v_means2d.data_ptr<float>(),
                            v_depths.data_ptr<float>(), v_conics.data_ptr<float>(), v_comps.data_ptr<float>(),
                            v_means.data_ptr<float>(), v_quats.data_ptr<float>(), v_scales.data_ptr<float>());
    }
    return {v_means, v_quats, v_scales};
}

Tensor sh_fwd(int64_t degree, const Tensor& dirs, const Tensor& coeffs, const Tensor& radii,
              int64_t stream) {
    check(dirs, "dirs");
    check(coeffs, "coeffs");
    check(radii, "radii", torch::kInt32);
    const int n = static_cast<int>(dirs.size(0)), k = static_cast<int>(coeffs.size(1));
    TORCH_CHECK(k >= (degree + 1) * (degree + 1), "splatcine raster: too few SH coefficients");
    auto colors = torch::empty({n, 3}, dirs.options());
    if (dirs.is_cuda()) {
#ifdef SC_WITH_CUDA
        sc::sh_fwd_cuda(n, k, degree, dirs.data_ptr<float>(), coeffs.data_ptr<float>(),
                        radii.data_ptr<int32_t>(), colors.data_ptr<float>(), SC_STREAM());
#else
        no_cuda();
#endif
    } else {
        sc::sh_fwd_cpu(n, k, degree, dirs.data_ptr<float>(), coeffs.data_ptr<float>(),
                       radii.data_ptr<int32_t>(), colors.data_ptr<float>());
    }
    return colors;
}

std::tuple<Tensor, Tensor> sh_bwd(int64_t degree, const Tensor& dirs, const Tensor& coeffs,
                                  const Tensor& radii, const Tensor& v_colors,
                                  int64_t stream) {
    check(v_colors, "v_colors");
    const int n = static_cast<int>(dirs.size(0)), k = static_cast<int>(coeffs.size(1));
    auto v_coeffs = torch::empty_like(coeffs), v_dirs = torch::empty_like(dirs);
    if (dirs.is_cuda()) {
#ifdef SC_WITH_CUDA
        sc::sh_bwd_cuda(n, k, degree, dirs.data_ptr<float>(), coeffs.data_ptr<float>(),
                        radii.data_ptr<int32_t>(), v_colors.data_ptr<float>(),
                        v_coeffs.data_ptr<float>(), v_dirs.data_ptr<float>(), SC_STREAM());
#else
        no_cuda();
#endif
    } else {
        sc::sh_bwd_cpu(n, k, degree, dirs.data_ptr<float>(), coeffs.data_ptr<float>(),
                       radii.data_ptr<int32_t>(), v_colors.data_ptr<float>(),
                       v_coeffs.data_ptr<float>(), v_dirs.data_ptr<float>());
    }
    return {v_coeffs, v_dirs};
}

// -> tile_offsets [tiles + 1] int32, flat_ids [M] int32, and on the CPU gauss_offsets [N + 1]
// and entry_slots [M] int32 (each entry's record slot, for the gradient sum; empty on CUDA).
// opacities: after the antialiasing compensation, as the compositing kernels get them.
std::tuple<Tensor, Tensor, Tensor, Tensor> bin_gaussians(const Tensor& means2d, const Tensor& conics,
                                                         const Tensor& opacities, const Tensor& radii,
                                                         const Tensor& depths, int64_t width,
                                                         int64_t height, int64_t stream) {
    check(means2d, "means2d");
    check(conics, "conics");
    check(opacities, "opacities");
    check(radii, "radii", torch::kInt32);
    check(depths, "depths");
    const int n = static_cast<int>(means2d.size(0));
    const int64_t tiles_x = (width + sc::TILE - 1) / sc::TILE, tiles_y = (height + sc::TILE - 1) / sc::TILE;
    const int64_t tiles = tiles_x * tiles_y;
    auto i32 = means2d.options().dtype(torch::kInt32);
    if (means2d.is_cuda()) {
#ifdef SC_WITH_CUDA
        auto counts = torch::empty({n}, i32);
        sc::count_intersections_cuda(n, means2d.data_ptr<float>(), conics.data_ptr<float>(),
                                     opacities.data_ptr<float>(), radii.data_ptr<int32_t>(), width,
                                     height, counts.data_ptr<int32_t>(), SC_STREAM());
        auto offsets = torch::cumsum(counts, 0, torch::kInt64);
        const int64_t m = n > 0 ? offsets[n - 1].item<int64_t>() : 0;
        TORCH_CHECK(m < INT32_MAX, "splatcine raster: too many tile intersections");
        auto keys = torch::empty({m}, means2d.options().dtype(torch::kInt64));
        auto values = torch::empty({m}, i32);
        sc::emit_intersections_cuda(n, means2d.data_ptr<float>(), conics.data_ptr<float>(),
                                    opacities.data_ptr<float>(), radii.data_ptr<int32_t>(),
                                    depths.data_ptr<float>(), offsets.data_ptr<int64_t>(), width,
                                    height, keys.data_ptr<int64_t>(), values.data_ptr<int32_t>(),
                                    SC_STREAM());
        auto sorted = torch::sort(keys, /*stable=*/true, /*dim=*/0, /*descending=*/false);
        auto sorted_keys = std::get<0>(sorted).contiguous();
        auto flat_ids = values.index_select(0, std::get<1>(sorted)).contiguous();
        auto tile_offsets = torch::empty({tiles + 1}, i32);
        sc::tile_ranges_cuda(m, sorted_keys.data_ptr<int64_t>(), static_cast<int>(tiles),
                             tile_offsets.data_ptr<int32_t>(), SC_STREAM());
        return {tile_offsets, flat_ids, torch::empty({0}, i32), torch::empty({0}, i32)};
#else
        no_cuda();
#endif
    }
    auto gauss_offsets = torch::empty({n + 1}, i32);
    std::vector<int32_t> slot_tiles;
    const int64_t m = sc::tile_visits_cpu(n, means2d.data_ptr<float>(), conics.data_ptr<float>(),
                                          opacities.data_ptr<float>(), radii.data_ptr<int32_t>(), width,
                                          height, gauss_offsets.data_ptr<int32_t>(), slot_tiles);
    TORCH_CHECK(m < INT32_MAX, "splatcine raster: too many tile intersections");
    auto tile_offsets = torch::empty({tiles + 1}, i32);
    auto flat_ids = torch::empty({m}, i32), entry_slots = torch::empty({m}, i32);
    sc::bin_gaussians_cpu(n, gauss_offsets.data_ptr<int32_t>(), slot_tiles.data(), depths.data_ptr<float>(),
                          static_cast<int>(tiles), tile_offsets.data_ptr<int32_t>(),
                          flat_ids.data_ptr<int32_t>(), entry_slots.data_ptr<int32_t>());
    return {tile_offsets, flat_ids, gauss_offsets, entry_slots};
}

// -> out [H, W, 4], T_final [H, W], last [H, W] int32, and on the CPU with keep_batches the
// batches the backward reads (bytes) and where each tile's start (int32 [tiles + 1])
std::tuple<Tensor, Tensor, Tensor, Tensor, Tensor> raster_fwd(
    const Tensor& means2d, const Tensor& conics, const Tensor& opacities, const Tensor& features,
    const Tensor& tile_offsets, const Tensor& flat_ids, int64_t width, int64_t height, bool keep_batches,
    int64_t stream) {
    for (auto& [t, name] : {std::pair{means2d, "means2d"}, {conics, "conics"}, {opacities, "opacities"}, {features, "features"}})
        check(t, name);
    TORCH_CHECK(features.size(1) == sc::CHANNELS, "splatcine raster: features must be [N, 4]");
    check(tile_offsets, "tile_offsets", torch::kInt32);
    check(flat_ids, "flat_ids", torch::kInt32);
    auto out = torch::empty({height, width, sc::CHANNELS}, means2d.options());
    auto T_final = torch::empty({height, width}, means2d.options());
    auto last = torch::empty({height, width}, means2d.options().dtype(torch::kInt32));
    auto batches = torch::empty({0}, means2d.options().dtype(torch::kUInt8));
    auto batch_offsets = torch::empty({0}, means2d.options().dtype(torch::kInt32));
    if (means2d.is_cuda()) {
#ifdef SC_WITH_CUDA
        sc::raster_fwd_cuda(means2d.data_ptr<float>(), conics.data_ptr<float>(), opacities.data_ptr<float>(),
                            features.data_ptr<float>(), tile_offsets.data_ptr<int32_t>(),
                            flat_ids.data_ptr<int32_t>(), width, height, out.data_ptr<float>(),
                            T_final.data_ptr<float>(), last.data_ptr<int32_t>(), SC_STREAM());
#else
        no_cuda();
#endif
    } else {
        if (keep_batches) {  // one batch per BATCH entries of each tile, room for all of them
            const int64_t tiles = tile_offsets.size(0) - 1;
            batch_offsets = torch::empty({tiles + 1}, batch_offsets.options());
            const int32_t* to = tile_offsets.data_ptr<int32_t>();
            int32_t* bo = batch_offsets.data_ptr<int32_t>();
            const int size = sc::raster_batch_size();
            bo[0] = 0;
            for (int64_t t = 0; t < tiles; ++t) bo[t + 1] = bo[t] + (to[t + 1] - to[t] + size - 1) / size;
            batches = torch::empty({int64_t(bo[tiles]) * int64_t(sc::raster_batch_bytes())}, batches.options());
        }
        sc::raster_fwd_cpu(means2d.data_ptr<float>(), conics.data_ptr<float>(), opacities.data_ptr<float>(),
                           features.data_ptr<float>(), tile_offsets.data_ptr<int32_t>(),
                           flat_ids.data_ptr<int32_t>(), width, height, out.data_ptr<float>(),
                           T_final.data_ptr<float>(), last.data_ptr<int32_t>(),
                           keep_batches ? batches.data_ptr() : nullptr,
                           keep_batches ? batch_offsets.data_ptr<int32_t>() : nullptr);
    }
    return {out, T_final, last, batches, batch_offsets};
}

// -> v_means2d [N, 2], v_conics [N, 3], v_opacities [N], v_features [N, 4]
std::tuple<Tensor, Tensor, Tensor, Tensor> raster_bwd(
    const Tensor& means2d, const Tensor& conics, const Tensor& opacities, const Tensor& features,
    const Tensor& tile_offsets, const Tensor& flat_ids, const Tensor& gauss_offsets,
    const Tensor& entry_slots, int64_t width, int64_t height, const Tensor& T_final,
    const Tensor& last, const Tensor& v_out, const Tensor& v_alpha, const Tensor& batches,
    const Tensor& batch_offsets, int64_t stream) {
    check(v_out, "v_out");
    check(v_alpha, "v_alpha");
    const int n = static_cast<int>(means2d.size(0));
    if (means2d.is_cuda()) {
#ifdef SC_WITH_CUDA
        auto v_means2d = torch::zeros_like(means2d), v_conics = torch::zeros_like(conics);
        auto v_opacities = torch::zeros_like(opacities), v_features = torch::zeros_like(features);
        sc::raster_bwd_cuda(means2d.data_ptr<float>(), conics.data_ptr<float>(), opacities.data_ptr<float>(),
                            features.data_ptr<float>(), tile_offsets.data_ptr<int32_t>(),
                            flat_ids.data_ptr<int32_t>(), width, height, T_final.data_ptr<float>(),
                            last.data_ptr<int32_t>(), v_out.data_ptr<float>(), v_alpha.data_ptr<float>(),
                            v_means2d.data_ptr<float>(), v_conics.data_ptr<float>(),
                            v_opacities.data_ptr<float>(), v_features.data_ptr<float>(), SC_STREAM());
        return {v_means2d, v_conics, v_opacities, v_features};
#else
        no_cuda();
#endif
    }
    auto v_means2d = torch::empty_like(means2d), v_conics = torch::empty_like(conics);
    auto v_opacities = torch::empty_like(opacities), v_features = torch::empty_like(features);
    check(gauss_offsets, "gauss_offsets", torch::kInt32);
    check(entry_slots, "entry_slots", torch::kInt32);
    TORCH_CHECK(gauss_offsets.size(0) == n + 1 && entry_slots.size(0) == flat_ids.size(0),
                "splatcine raster: gauss_offsets / entry_slots do not match this binning");
    check(batch_offsets, "batch_offsets", torch::kInt32);
    TORCH_CHECK(batch_offsets.size(0) == tile_offsets.size(0) && batches.is_contiguous() &&
                    batches.numel() == int64_t(batch_offsets.data_ptr<int32_t>()[batch_offsets.size(0) - 1]) *
                                           int64_t(sc::raster_batch_bytes()),
                "splatcine raster: the backward needs the batches its forward kept (keep_batches)");
    auto entry_grads = torch::empty({flat_ids.size(0), sc::RASTER_GRADS}, means2d.options());
    sc::raster_bwd_cpu(n, batches.data_ptr(), batch_offsets.data_ptr<int32_t>(),
                       tile_offsets.data_ptr<int32_t>(), gauss_offsets.data_ptr<int32_t>(),
                       entry_slots.data_ptr<int32_t>(), width, height, T_final.data_ptr<float>(),
                       last.data_ptr<int32_t>(), v_out.data_ptr<float>(), v_alpha.data_ptr<float>(),
                       entry_grads.data_ptr<float>(), v_means2d.data_ptr<float>(), v_conics.data_ptr<float>(),
                       v_opacities.data_ptr<float>(), v_features.data_ptr<float>());
    return {v_means2d, v_conics, v_opacities, v_features};
}

// ---- the stages as rasterize() composes them, glue included (include/launchers.h) ----

namespace {

// The background [3] (float32, contiguous, on the means' device), or nullptr when empty (none);
// on CUDA a device pointer, of which the CUDA paths read only whether there is one.
const float* background_of(const Tensor& background, const Tensor& means2d) {
    if (background.numel() == 0) return nullptr;
    check(background, "background");
    check_device(background, means2d, "background");
    TORCH_CHECK(background.numel() == 3, "splatcine raster: background must be [3]");
    return background.data_ptr<float>();
}

}  // namespace

// exp(x), elementwise; on the CPU without a parallel region below a few hundred us of work
// (the training step's scales: torch.exp would wake a sleeping thread for them)
Tensor exp_(const Tensor& x) {
    if (x.is_cuda() || x.scalar_type() != torch::kFloat32 || !x.is_contiguous()) return torch::exp(x);
    auto out = torch::empty_like(x);
    sc::exp_cpu(x.numel(), x.data_ptr<float>(), out.data_ptr<float>());
    return out;
}

// -> colors [N, 3] = max(SH(means - camera centre) + 0.5, 0), and (dirs, raw SH values) for
// the backward
std::tuple<Tensor, Tensor, Tensor> sh_colors_fwd(int64_t degree, const Tensor& means,
                                                 const Tensor& cam_from_world, const Tensor& coeffs,
                                                 const Tensor& radii, int64_t stream) {
    check(means, "means");
    check_device(coeffs, means, "coeffs");
    const int n = static_cast<int>(means.size(0));
    Tensor dirs;
    if (means.is_cuda()) {
        auto V = cam_from_world.to(means.options());
        auto R = V.slice(0, 0, 3).slice(1, 0, 3), t = V.slice(0, 0, 3).select(1, 3);
        dirs = (means + torch::matmul(R.t(), t)).contiguous();  // centre = -R^T t
    } else {
        dirs = torch::empty_like(means);
        auto V = cam_from_world.detach().to(torch::kCPU, torch::kFloat32).contiguous();
        sc::sh_dirs_cpu(n, means.data_ptr<float>(), V.data_ptr<float>(), dirs.data_ptr<float>());
    }
    auto raw = sh_fwd(degree, dirs, coeffs, radii, stream);
    Tensor colors;
    if (means.is_cuda()) {
        colors = torch::clamp_min(raw + 0.5, 0.0);
    } else {
        colors = torch::empty_like(raw);
        sc::sh_clamp_fwd_cpu(n, raw.data_ptr<float>(), colors.data_ptr<float>());
    }
    return {colors, dirs, raw};
}

// -> v_means [N, 3], v_coeffs
std::tuple<Tensor, Tensor> sh_colors_bwd(int64_t degree, const Tensor& dirs, const Tensor& coeffs,
                                         const Tensor& radii, const Tensor& raw, const Tensor& v_colors,
                                         int64_t stream) {
    check(raw, "raw");
    check(v_colors, "v_colors");
    Tensor v_raw;
    if (dirs.is_cuda()) {
        v_raw = torch::where(raw + 0.5 >= 0.0, v_colors, torch::zeros_like(v_colors));
    } else {
        v_raw = torch::empty_like(raw);
        sc::sh_clamp_bwd_cpu(static_cast<int>(raw.size(0)), raw.data_ptr<float>(), v_colors.data_ptr<float>(),
                             v_raw.data_ptr<float>());
    }
    auto [v_coeffs, v_dirs] = sh_bwd(degree, dirs, coeffs, radii, v_raw, stream);
    return {v_dirs, v_coeffs};  // dirs = means - centre
}

// -> color [H, W, 3] over background (empty: none), depth_sum [H, W], alpha [H, W], then what
// the backward reads: features, tile_offsets, flat_ids, gauss_offsets, entry_slots, T_final,
// last, batches, batch_offsets
std::vector<Tensor> composite_fwd(const Tensor& means2d, const Tensor& conics, const Tensor& opacities,
                                  const Tensor& rgb, const Tensor& depths, const Tensor& radii,
                                  const Tensor& background, int64_t width, int64_t height,
                                  bool keep_batches, int64_t stream) {
    check(rgb, "rgb");
    check(depths, "depths");
    const int n = static_cast<int>(means2d.size(0));
    const float* bg = background_of(background, means2d);
    Tensor features;
    if (means2d.is_cuda()) {
        features = torch::cat({rgb, depths.unsqueeze(1)}, 1).contiguous();
    } else {
        features = torch::empty({n, sc::CHANNELS}, rgb.options());
        sc::pack_features_cpu(n, rgb.data_ptr<float>(), depths.data_ptr<float>(), features.data_ptr<float>());
    }
    auto [tile_offsets, flat_ids, gauss_offsets, entry_slots] =
        bin_gaussians(means2d, conics, opacities, radii, depths, width, height, stream);
    auto [blended, T_final, last, batches, batch_offsets] =
        raster_fwd(means2d, conics, opacities, features, tile_offsets, flat_ids, width, height, keep_batches, stream);
    Tensor color, depth_sum, alpha;
    if (means2d.is_cuda()) {
        color = blended.slice(2, 0, 3);
        if (bg) color = color + T_final.unsqueeze(2) * background;
        color = color.contiguous();
        depth_sum = blended.select(2, 3).contiguous();
        alpha = 1.0 - T_final;
    } else {
        color = torch::empty({height, width, 3}, rgb.options());
        depth_sum = torch::empty({height, width}, rgb.options());
        alpha = torch::empty({height, width}, rgb.options());
        sc::over_background_fwd_cpu(height * width, blended.data_ptr<float>(), T_final.data_ptr<float>(), bg,
                                    color.data_ptr<float>(),
                                    depth_sum.data_ptr<float>(), alpha.data_ptr<float>());
    }
    return {color, depth_sum, alpha, features, tile_offsets, flat_ids, gauss_offsets, entry_slots, T_final,
            last, batches, batch_offsets};
}

// saved: composite_fwd's outputs from features on -> v_means2d, v_conics, v_opacities, v_rgb, v_depths
std::vector<Tensor> composite_bwd(const Tensor& means2d, const Tensor& conics, const Tensor& opacities,
                                  const std::vector<Tensor>& saved, const Tensor& background,
                                  int64_t width, int64_t height, const Tensor& v_color,
                                  const Tensor& v_depth_sum, const Tensor& v_alpha, int64_t stream) {
    TORCH_CHECK(saved.size() == 9, "splatcine raster: composite_bwd takes composite_fwd's 9 saved tensors");
    check(v_color, "v_color");
    check(v_depth_sum, "v_depth_sum");
    check(v_alpha, "v_alpha");
    const float* bg = background_of(background, means2d);
    Tensor v_blended, v_alpha_total;
    if (means2d.is_cuda()) {
        v_blended = torch::cat({v_color, v_depth_sum.unsqueeze(2)}, 2).contiguous();
        v_alpha_total = bg ? v_alpha - (v_color * background).sum(2) : v_alpha;
    } else {
        v_blended = torch::empty({height, width, sc::CHANNELS}, v_color.options());
        v_alpha_total = torch::empty_like(v_alpha);
        sc::over_background_bwd_cpu(height * width, v_color.data_ptr<float>(), v_depth_sum.data_ptr<float>(),
                                    v_alpha.data_ptr<float>(), bg, v_blended.data_ptr<float>(),
                                    v_alpha_total.data_ptr<float>());
    }
    auto [v_means2d, v_conics, v_opacities, v_features] =
        raster_bwd(means2d, conics, opacities, saved[0], saved[1], saved[2], saved[3], saved[4], width, height,
                   saved[5], saved[6], v_blended, v_alpha_total, saved[7], saved[8], stream);
    return {v_means2d, v_conics, v_opacities, v_features.slice(1, 0, 3), v_features.select(1, 3)};
}

// a, b [H, W, C] float32 on the CPU -> (ssim [H, W, C], moments [5, H, W, C])
std::tuple<Tensor, Tensor> ssim_fwd(const Tensor& a, const Tensor& b) {
    check(a, "a");
    check(b, "b");
    TORCH_CHECK(a.dim() == 3 && a.sizes() == b.sizes() && a.device().is_cpu() && b.device().is_cpu(),
                "splatcine ssim: a and b must be [H, W, C] CPU tensors of one shape");
    const int h = static_cast<int>(a.size(0)), w = static_cast<int>(a.size(1)), c = static_cast<int>(a.size(2));
    TORCH_CHECK(h > sc::SSIM_WINDOW / 2 && w > sc::SSIM_WINDOW / 2, "splatcine ssim: image smaller than the window");
    auto ssim = torch::empty_like(a);
    auto moments = torch::empty({5, h, w, c}, a.options());
    sc::ssim_fwd_cpu(h, w, c, a.data_ptr<float>(), b.data_ptr<float>(), moments.data_ptr<float>(),
                     ssim.data_ptr<float>());
    return {ssim, moments};
}

Tensor ssim_bwd(const Tensor& a, const Tensor& b, const Tensor& moments, const Tensor& v_ssim) {
    check(moments, "moments");
    check(v_ssim, "v_ssim");
    TORCH_CHECK(v_ssim.sizes() == a.sizes() && moments.numel() == 5 * a.numel(),
                "splatcine ssim: gradient or moments do not match the image");
    auto v_a = torch::empty_like(a);
    sc::ssim_bwd_cpu(static_cast<int>(a.size(0)), static_cast<int>(a.size(1)), static_cast<int>(a.size(2)),
                     a.data_ptr<float>(), b.data_ptr<float>(), moments.data_ptr<float>(),
                     v_ssim.data_ptr<float>(), v_a.data_ptr<float>());
    return v_a;
}

namespace {

// weight: [H, W] float32, or an empty tensor for "every pixel weighs 1".
const float* photometric_weight(const Tensor& a, const Tensor& weight) {
    if (weight.numel() == 0) return nullptr;
    check(weight, "weight");
    TORCH_CHECK(weight.dim() == 2 && weight.size(0) == a.size(0) && weight.size(1) == a.size(1) &&
                    weight.device().is_cpu(),
                "splatcine loss: weight must be a [H, W] CPU tensor matching the image");
    return weight.data_ptr<float>();
}

}  // namespace

// a, b [H, W, C], weight [H, W] or empty -> (stats [2]: loss, mse; moments [5, H, W, C] or empty)
std::tuple<Tensor, Tensor> photometric_fwd(const Tensor& a, const Tensor& b, const Tensor& weight,
                                           double ssim_lambda) {
    check(a, "a");
    check(b, "b");
    TORCH_CHECK(a.dim() == 3 && a.sizes() == b.sizes() && a.device().is_cpu() && b.device().is_cpu(),
                "splatcine loss: a and b must be [H, W, C] CPU tensors of one shape");
    const int h = static_cast<int>(a.size(0)), w = static_cast<int>(a.size(1)), c = static_cast<int>(a.size(2));
    const bool with_ssim = ssim_lambda != 0.0;
    TORCH_CHECK(!with_ssim || (h > sc::SSIM_WINDOW / 2 && w > sc::SSIM_WINDOW / 2),
                "splatcine loss: image smaller than the SSIM window");
    const float* wt = photometric_weight(a, weight);
    auto stats = torch::empty({2}, a.options());
    auto moments = with_ssim ? torch::empty({5, h, w, c}, a.options()) : torch::empty({0}, a.options());
    sc::photometric_fwd_cpu(h, w, c, a.data_ptr<float>(), b.data_ptr<float>(), wt, static_cast<float>(ssim_lambda),
                            with_ssim ? moments.data_ptr<float>() : nullptr, stats.data_ptr<float>());
    return {stats, moments};
}

Tensor photometric_bwd(const Tensor& a, const Tensor& b, const Tensor& weight, const Tensor& moments,
                       double ssim_lambda, double v_loss) {
    TORCH_CHECK(ssim_lambda == 0.0 || moments.numel() == 5 * a.numel(),
                "splatcine loss: moments do not match the image");
    auto v_a = torch::empty_like(a);
    sc::photometric_bwd_cpu(static_cast<int>(a.size(0)), static_cast<int>(a.size(1)), static_cast<int>(a.size(2)),
                            a.data_ptr<float>(), b.data_ptr<float>(), photometric_weight(a, weight),
                            ssim_lambda != 0.0 ? moments.data_ptr<float>() : nullptr,
                            static_cast<float>(ssim_lambda), static_cast<float>(v_loss), v_a.data_ptr<float>());
    return v_a;
}

// rgb [..., 3], affine [3, 4] -> A rgb + b [..., 3]
Tensor color_affine_fwd(const Tensor& rgb, const Tensor& affine) {
    check(rgb, "rgb");
    check(affine, "affine");
    TORCH_CHECK(rgb.size(-1) == 3 && affine.dim() == 2 && affine.size(0) == 3 && affine.size(1) == 4 &&
                    rgb.device().is_cpu() && affine.device().is_cpu(),
                "splatcine colour: rgb [..., 3] and affine [3, 4] CPU tensors expected");
    auto out = torch::empty_like(rgb);
    sc::color_affine_fwd_cpu(rgb.numel() / 3, rgb.data_ptr<float>(), affine.data_ptr<float>(), out.data_ptr<float>());
    return out;
}

std::tuple<Tensor, Tensor> color_affine_bwd(const Tensor& rgb, const Tensor& affine, const Tensor& v_out) {
    check(v_out, "v_out");
    TORCH_CHECK(v_out.sizes() == rgb.sizes(), "splatcine colour: gradient does not match the image");
    auto v_rgb = torch::empty_like(rgb), v_affine = torch::empty_like(affine);
    sc::color_affine_bwd_cpu(rgb.numel() / 3, rgb.data_ptr<float>(), affine.data_ptr<float>(),
                             v_out.data_ptr<float>(), v_rgb.data_ptr<float>(), v_affine.data_ptr<float>());
    return {v_rgb, v_affine};
}

// One Adam step on every tensor of `params` (each with its grad and moments, CPU float32,
// contiguous); per tensor: lr, beta1, beta2, eps, and its step counter (a float32 scalar,
// torch's Adam state "step"), which is counted up here first. False, with nothing changed,
// where a tensor is not CPU float32 and contiguous (the caller then steps them with torch).
bool adam_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
               const std::vector<Tensor>& exp_avgs, const std::vector<Tensor>& exp_avg_sqs,
               const std::vector<Tensor>& steps, const std::vector<std::vector<double>>& settings) {
    const size_t count = params.size();
    TORCH_CHECK(grads.size() == count && exp_avgs.size() == count && exp_avg_sqs.size() == count &&
                    steps.size() == count && settings.size() == count,
                "splatcine adam: one grad, two moments, a step and settings per parameter");
    const auto applies = [](const Tensor& x) {
        return x.device().is_cpu() && x.scalar_type() == torch::kFloat32 && x.is_contiguous();
    };
    for (size_t t = 0; t < count; ++t) {
        for (const Tensor* x : {&params[t], &grads[t], &exp_avgs[t], &exp_avg_sqs[t], &steps[t]})
            if (!applies(*x)) return false;
        for (const Tensor* x : {&grads[t], &exp_avgs[t], &exp_avg_sqs[t]})
            TORCH_CHECK(x->numel() == params[t].numel(), "splatcine adam: a parameter's grad and moments must be its size");
        TORCH_CHECK(steps[t].numel() == 1 && settings[t].size() == 4,
                    "splatcine adam: a step is one float; settings are lr, beta1, beta2, eps");
    }
    std::vector<int64_t> sizes(count);
    std::vector<float*> p(count), m(count), v(count);
    std::vector<const float*> g(count);
    std::vector<sc::AdamHyper> hyper(count);
    for (size_t t = 0; t < count; ++t) {  // every input checked first: a refused call changes nothing
        float& step = *steps[t].data_ptr<float>();
        step += 1.0f;
        sizes[t] = params[t].numel();
        p[t] = params[t].data_ptr<float>();
        g[t] = grads[t].data_ptr<float>();
        m[t] = exp_avgs[t].data_ptr<float>();
        v[t] = exp_avg_sqs[t].data_ptr<float>();
        hyper[t] = {settings[t][0], settings[t][1], settings[t][2], settings[t][3], static_cast<double>(step)};
    }
    sc::adam_cpu(static_cast<int>(count), sizes.data(), p.data(), g.data(), m.data(), v.data(), hyper.data());
    return true;
}

std::tuple<Tensor, Tensor, Tensor> coverage(const Tensor& pts, const Tensor& center, const Tensor& cameras,
                                            const Tensor& sizes, const Tensor& offsets, const Tensor& depth,
                                            double depth_tol) {
    check(pts, "points");
    check(center, "center");
    check(cameras, "cameras");
    check(sizes, "sizes", torch::kInt32);
    check(offsets, "offsets", torch::kInt64);
    check(depth, "depth");
    const int64_t views = cameras.size(0);
    TORCH_CHECK(pts.dim() == 2 && pts.size(1) == 3 && center.numel() == 3 && cameras.dim() == 2 &&
                    cameras.size(1) == 16 && sizes.numel() == 2 * views && offsets.numel() == views &&
                    pts.device().is_cpu() && depth.device().is_cpu(),
                "splatcine coverage: points [P, 3], cameras [S, 16], sizes [S, 2], offsets [S] and "
                "flat maps on the CPU expected");
    auto count = torch::empty({pts.size(0)}, pts.options().dtype(torch::kInt32));
    auto best_cos = torch::empty({pts.size(0)}, pts.options());
    auto per_source = torch::empty({views}, pts.options().dtype(torch::kInt64));
    sc::coverage_cpu(pts.size(0), pts.data_ptr<float>(), center.data_ptr<float>(), static_cast<int>(views),
                     cameras.data_ptr<float>(), sizes.data_ptr<int32_t>(), offsets.data_ptr<int64_t>(),
                     depth.data_ptr<float>(), static_cast<float>(depth_tol), count.data_ptr<int32_t>(),
                     best_cos.data_ptr<float>(), per_source.data_ptr<int64_t>());
    return {count, best_cos, per_source};
}

// ---- the CPU trainer's loss in one call each way (splatcine/train/fused.py) ----
//
// The stages above composed as TrainState's loss composes them: the activations (exp of the
// log-scales, sigmoid of the opacity logits), projection, SH colour, compositing over the
// background, the frame's colour correction, the photometric loss over the valid pixels
// (the others replaced by the render) and the correction's pull to identity. From Python
// each glue op cost 5-10 us and each stage call more; here they are ATen calls and plain
// loops. params: means, quats, log_scales, opacity_logits, sh0, shN, affine ([F, 3, 4], or
// empty: no correction). -> loss, mse, radii, then what the backward reads.
std::vector<Tensor> training_loss_fwd(const std::vector<Tensor>& params, const Tensor& cam_from_world,
                                      const Tensor& K, int64_t width, int64_t height, int64_t degree,
                                      bool antialiased, double near, const Tensor& background,
                                      const Tensor& target, const Tensor& valid, int64_t frame,
                                      double ssim_lambda, double color_reg) {
    TORCH_CHECK(params.size() == 7, "splatcine train: 7 parameters expected");
    const Tensor &means = params[0], &quats = params[1], &log_scales = params[2], &logits = params[3];
    const Tensor &sh0 = params[4], &shN = params[5], &affine = params[6];
    const Tensor scales = exp_(log_scales.contiguous()), opacities = torch::sigmoid(logits);
    const Tensor coeffs = degree == 0 ? sh0.contiguous()
                                      : torch::cat({sh0, shN.slice(1, 0, (degree + 1) * (degree + 1) - 1)}, 1);
    auto [means2d, depths, conics, comps, radii] =
        project_fwd(means, quats, scales, opacities, cam_from_world, K, width, height, near, antialiased, 0);
    auto [rgb, dirs, raw] = sh_colors_fwd(degree, means, cam_from_world, coeffs, radii, 0);
    const Tensor blend_opacities = antialiased ? opacities * comps : opacities;
    std::vector<Tensor> composite = composite_fwd(means2d, conics, blend_opacities, rgb, depths, radii, background,
                                                  width, height, true, 0);
    const Tensor color = composite[0];
    const bool corrects = affine.numel() > 0;
    const Tensor corrected = corrects ? color_affine_fwd(color, affine[frame]) : color;
    Tensor goal = target, weight = torch::empty({0}, means.options());
    if (valid.numel() > 0) {  // ignored pixels: the render itself, as photometric_loss does
        goal = torch::where(valid.unsqueeze(2), target, corrected).contiguous();
        weight = valid.to(torch::kFloat32);
    }
    auto [stats, moments] = photometric_fwd(corrected, goal, weight, ssim_lambda);
    Tensor loss = stats[0], off_identity = torch::empty({0}, means.options());
    if (corrects) {  // the pull to identity, mean((A - I)^2) as the composed mse_loss
        off_identity = affine - torch::eye(3, 4, affine.options());
        loss = loss + color_reg * off_identity.square().mean();
    }
    std::vector<Tensor> out = {loss, stats[1], radii, scales, opacities, comps, means2d, conics, blend_opacities,
                               dirs, coeffs, raw, color, corrected, goal, weight, moments, off_identity};
    out.insert(out.end(), composite.begin() + 3, composite.end());  // the compositing's 9 for its backward
    return out;
}

// saved: training_loss_fwd's outputs from scales on -> d loss / d each of params (empty for shN
// at degree 0 and for an absent affine), then d loss / d means2d (the screen-space gradient)
std::vector<Tensor> training_loss_bwd(const std::vector<Tensor>& params, const std::vector<Tensor>& saved,
                                      const Tensor& radii, const Tensor& cam_from_world, const Tensor& K,
                                      int64_t width, int64_t height, int64_t degree, bool antialiased, double near,
                                      const Tensor& background, int64_t frame, double ssim_lambda,
                                      double color_reg) {
    TORCH_CHECK(params.size() == 7 && saved.size() == 24, "splatcine train: training_loss_fwd's tensors expected");
    const Tensor &means = params[0], &quats = params[1], &shN = params[5], &affine = params[6];
    const Tensor &scales = saved[0], &opacities = saved[1], &comps = saved[2], &means2d = saved[3];
    const Tensor &conics = saved[4], &blend_opacities = saved[5], &dirs = saved[6], &coeffs = saved[7];
    const Tensor &raw = saved[8], &color = saved[9], &corrected = saved[10], &goal = saved[11];
    const Tensor &weight = saved[12], &moments = saved[13], &off_identity = saved[14];
    const std::vector<Tensor> kept(saved.begin() + 15, saved.end());
    const Tensor v_corrected = photometric_bwd(corrected, goal, weight, moments, ssim_lambda, 1.0);
    Tensor v_color = v_corrected, v_affine = torch::empty({0}, means.options());
    if (affine.numel() > 0) {
        auto [v_rgb_in, v_frame] = color_affine_bwd(color, affine[frame], v_corrected);
        v_color = v_rgb_in;
        v_affine = off_identity * (2.0 * color_reg / static_cast<double>(off_identity.numel()));
        v_affine.select(0, frame).add_(v_frame);
    }
    const Tensor zeros = torch::zeros({height, width}, means.options());  // depth and alpha are not in the loss
    std::vector<Tensor> v = composite_bwd(means2d, conics, blend_opacities, kept, background, width, height,
                                          v_color, zeros, zeros, 0);
    const Tensor &v_means2d = v[0], &v_conics = v[1], &v_blend = v[2];
    auto [v_means_sh, v_coeffs] = sh_colors_bwd(degree, dirs, coeffs, radii, raw, v[3].contiguous(), 0);
    const Tensor v_comps = antialiased ? v_blend * opacities : torch::zeros_like(v_blend);
    const Tensor v_opacities = antialiased ? v_blend * comps : v_blend;
    auto [v_means, v_quats, v_scales] = project_bwd(means, quats, scales, cam_from_world, K, width, height, near,
                                                    antialiased, radii, v_means2d, v[4].contiguous(), v_conics,
                                                    v_comps, 0);
    Tensor v_shN = torch::empty({0}, means.options());
    if (degree > 0) {  // bands above the degree get a zero gradient, as the composed slice gives
        v_shN = torch::zeros_like(shN);
        v_shN.slice(1, 0, v_coeffs.size(1) - 1).copy_(v_coeffs.slice(1, 1));
    }
    return {v_means + v_means_sh, v_quats, v_scales * scales,  // exp's backward
            torch::sigmoid_backward(v_opacities, opacities), v_coeffs.slice(1, 0, 1).contiguous(), v_shN, v_affine,
            v_means2d};
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
    m.def("adam_step", &adam_step);
    m.def("coverage", &coverage);
    m.def("color_affine_fwd", &color_affine_fwd);
    m.def("color_affine_bwd", &color_affine_bwd);
    m.def("photometric_fwd", &photometric_fwd);
    m.def("photometric_bwd", &photometric_bwd);
    m.def("project_fwd", &project_fwd);
    m.def("ssim_fwd", &ssim_fwd);
    m.def("ssim_bwd", &ssim_bwd);
    m.def("project_bwd", &project_bwd);
    m.def("bin_gaussians", &bin_gaussians);
    m.def("sh_colors_fwd", &sh_colors_fwd);
    m.def("sh_colors_bwd", &sh_colors_bwd);
    m.def("composite_fwd", &composite_fwd);
    m.def("exp", &exp_);
    m.def("training_loss_fwd", &training_loss_fwd);
    m.def("training_loss_bwd", &training_loss_bwd);
    m.def("composite_bwd", &composite_bwd);
}
