#include "serve/backend.hpp"

#include <algorithm>
#include <numeric>

#include "core/error.hpp"

namespace tsft::serve {

Backend::Backend(Engine& e, int slots, int max_context)
    : e_(e), slots_(slots), max_context_(std::min(max_context, e.config().max_position)) {
  TSFT_CHECK(slots_ >= 1 && max_context_ >= 2, "serve: need >= 1 slot and a context of >= 2 positions");
  // Memory planned once: decode (slots rows x 1 token) and the cache; prefill activations (1 row) grow
  // in powers of two with the longest prompt seen (their attention scores take heads x T^2 floats).
  prefill_ = e_.workspace(1, std::min(max_context_, 64), false);
  decode_ = e_.workspace(slots_, 1, false);
  cache_ = e_.kv_cache(slots_, max_context_);
  pos_.resize(max_context_);
  std::iota(pos_.begin(), pos_.end(), 0);
  rows_.resize(slots_);
  std::iota(rows_.begin(), rows_.end(), 0);
}

void Backend::prefill(int slot, const std::vector<int32_t>& ids, float* out) {
  const int T = (int)ids.size();
  TSFT_CHECK(T >= 1 && T <= max_context_, "serve: prompt of {} tokens outside [1, {}]", T, max_context_);
  if (T > prefill_->T_max) {
    int t = prefill_->T_max;
    while (t < T) t *= 2;
    prefill_.reset();  // free the old plan first
    prefill_ = e_.workspace(1, std::min(t, max_context_), false);
  }
  int32_t s = slot;
  Batch b{ids.data(), nullptr, pos_.data(), nullptr, 1, T, &cache_, &s};
  e_.forward(*prefill_, b);
  const int last = T - 1;
  e_.logits_rows(*prefill_, &last, 1, out);
}

void Backend::decode(const std::vector<int32_t>& slots, const std::vector<int32_t>& ids,
                     const std::vector<int32_t>& pos, float* out) {
  const int B = (int)ids.size();
  TSFT_CHECK(B >= 1 && B <= slots_ && (int)slots.size() == B && (int)pos.size() == B,
             "serve: bad decode batch");
  Batch b{ids.data(), nullptr, pos.data(), nullptr, B, 1, &cache_, slots.data()};
  e_.forward(*decode_, b);
  e_.logits_rows(*decode_, rows_.data(), B, out);
}

}  // namespace tsft::serve
