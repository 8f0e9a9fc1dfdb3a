#include "serve/backend.hpp"

#include <algorithm>
#include <numeric>

#include "core/error.hpp"
#include "kernels/cpu/kernels.hpp"

namespace tsft::serve {

Backend::Backend(Model& m, int slots, int max_context)
    : m_(m), slots_(slots), max_context_(std::min(max_context, m.cfg.max_position)) {
  TSFT_CHECK(slots_ >= 1 && max_context_ >= 2, "serve: need >= 1 slot and a context of >= 2 positions");
  // Memory planned once: decode (slots rows x 1 token) and the cache; prefill activations (1 row) grow
  // in powers of two with the longest prompt seen (their attention scores take heads x T^2 floats).
  prefill_ = activations_create(m.cfg, 1, std::min(max_context_, 64), false);
  decode_ = activations_create(m.cfg, slots_, 1, false);
  cache_ = kv_cache_create(m.cfg, slots_, max_context_);
  xg_.resize((size_t)slots_ * m.cfg.C);
  pos_.resize(max_context_);
  std::iota(pos_.begin(), pos_.end(), 0);
}

// logits of `rows` rows of a.lnf starting at first_row -> out[rows x V]
void Backend::head(Activations& a, int first_row, int rows, float* out) {
  const int C = m_.cfg.C;
  std::copy_n(a.lnf + (size_t)first_row * C, (size_t)rows * C, xg_.data());
  matmul_forward(out, xg_.data(), m_.w.lm_head, (const float*)nullptr, rows, C, m_.cfg.V);
}

void Backend::prefill(int slot, const std::vector<int32_t>& ids, float* out) {
  const int T = (int)ids.size();
  TSFT_CHECK(T >= 1 && T <= max_context_, "serve: prompt of {} tokens outside [1, {}]", T, max_context_);
  if (T > prefill_.T_max) {
    int t = prefill_.T_max;
    while (t < T) t *= 2;
    prefill_ = Activations{};  // free the old plan first
    prefill_ = activations_create(m_.cfg, 1, std::min(t, max_context_), false);
  }
  int32_t s = slot;
  Batch b{ids.data(), nullptr, pos_.data(), nullptr, 1, T, &cache_, &s};
  model_forward(m_, prefill_, b);
  head(prefill_, T - 1, 1, out);
}

void Backend::decode(const std::vector<int32_t>& slots, const std::vector<int32_t>& ids,
                     const std::vector<int32_t>& pos, float* out) {
  const int B = (int)ids.size();
  TSFT_CHECK(B >= 1 && B <= slots_ && (int)slots.size() == B && (int)pos.size() == B,
             "serve: bad decode batch");
  Batch b{ids.data(), nullptr, pos.data(), nullptr, B, 1, &cache_, slots.data()};
  model_forward(m_, decode_, b);
  head(decode_, 0, B, out);
}

}  // namespace tsft::serve
