// One Adam step over all of the trainer's parameters in one call (CPU). torch's fused CPU
// Adam (aten/src/ATen/native/cpu/FusedAdamKernel.cpp, `adam_fused_step_impl`) opens a
// parallel region for every tensor, however small: the trainer's seven optimisers cost seven
// thread wake-ups a step, up to 1 ms of a 7-8 ms step at 120x67 and 4.5k Gaussians
// (include/threads_cpu.h). This is the same update in the same float arithmetic as that
// kernel's vector loop, the constants in double as there, over the tensors as one range
// split between the threads (or on one thread, when small). Without amsgrad, maximize or
// weight decay (splatcine/train/adam.py sends only such groups here).
#include <algorithm>
#include <cmath>

#include <omp.h>

#include "include/launchers.h"
#include "include/threads_cpu.h"

namespace sc {

void adam_cpu(int count, const int64_t* sizes, float* const* params, const float* const* grads,
              float* const* exp_avgs, float* const* exp_avg_sqs, const AdamHyper* hyper) {
    int64_t total = 0;
    for (int t = 0; t < count; ++t) total += sizes[t];
#pragma omp parallel if (worth_threads(total, 1.5))  // ns a float, serial
    {
        const int thread = omp_get_thread_num(), threads = omp_get_num_threads();
        const int64_t lo = total * thread / threads, hi = total * (thread + 1) / threads;
        int64_t start = 0;  // of tensor t in the concatenated range
        for (int t = 0; t < count; start += sizes[t], ++t) {
            const int64_t b = std::max(lo, start) - start, e = std::min(hi, start + sizes[t]) - start;
            if (b >= e) continue;
            const AdamHyper& k = hyper[t];
            const double bias_correction1 = 1 - std::pow(k.beta1, k.step);
            const float step_size = static_cast<float>(k.lr / bias_correction1);
            const float bias_correction2_sqrt = static_cast<float>(std::sqrt(1 - std::pow(k.beta2, k.step)));
            const float beta1 = static_cast<float>(k.beta1), beta2 = static_cast<float>(k.beta2);
            const float grad_share1 = static_cast<float>(1 - k.beta1), grad_share2 = static_cast<float>(1 - k.beta2);
            const float eps = static_cast<float>(k.eps);
            float* __restrict p = params[t];
            float* __restrict m = exp_avgs[t];
            float* __restrict v = exp_avg_sqs[t];
            const float* __restrict g = grads[t];
            for (int64_t i = b; i < e; ++i) {
                m[i] = m[i] * beta1 + g[i] * grad_share1;
                v[i] = v[i] * beta2 + g[i] * g[i] * grad_share2;
                p[i] = p[i] - step_size * m[i] / (std::sqrt(v[i]) / bias_correction2_sqrt + eps);
            }
        }
    }
}

}  // namespace sc
