// The one place the server touches the model, through the engine interface: prefill of one
// sequence into a KV-cache slot, and one batched decode step, each returning next-token logits. Mirrors
// the forward calls of src/model/generate.cpp so that greedy outputs equal `tsft generate` token for token.
#pragma once
#include <cstdint>
#include <vector>

#include <memory>

#include "model/engine.hpp"

namespace tsft::serve {

class Backend {
 public:
  // `slots` concurrent sequences of at most `max_context` positions each (prompt + generated).
  Backend(Engine& e, int slots, int max_context);
  int vocab() const { return e_.config().V; }
  int slots() const { return slots_; }
  int max_context() const { return max_context_; }
  // Prefill `ids` (positions 0..T-1) into `slot`; logits of the last position -> out[V].
  void prefill(int slot, const std::vector<int32_t>& ids, float* out);
  // One new token per row: ids[i] at position pos[i] of slot slots[i]; logits -> out[rows x V].
  void decode(const std::vector<int32_t>& slots, const std::vector<int32_t>& ids,
              const std::vector<int32_t>& pos, float* out);

 private:
  Engine& e_;
  int slots_, max_context_;
  std::unique_ptr<Workspace> prefill_, decode_;
  KVCache cache_;
  std::vector<int32_t> pos_, rows_;
};

}  // namespace tsft::serve
