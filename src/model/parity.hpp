// Parity against a Hugging Face golden file (../shared/fixtures/hf/*/golden.safetensors format):
// input_ids [B,T] (I64), labels [B,T] (-100 ignored), logits [B,T,V], loss [1], grad.<param> for
// every parameter, rope.inv_freq. HF shifts labels inside the loss: logits[t] predicts labels[t+1].
#pragma once
#include <string>
#include <vector>

#include "model/engine.hpp"

namespace tsft {

// Bounds for fp32 against a float64 reference (derivation in parity.cpp).
struct ParityBounds {
  double logits_rel_l2 = 1e-5;
  double loss_abs = 1e-5;  // < 0: 2 * max|d logits| + 1e-5 of the run (log-softmax is 1-Lipschitz)
  double grad_rel_l2 = 1e-4;
};
// Bounds for the cpu/bf16 engine (bf16 GEMM inputs, fp32 accumulation; derivation in parity.cpp).
ParityBounds parity_bounds_bf16(const ModelConfig& c);

struct TensorError {
  std::string name;
  double rel_l2 = 0, max_abs = 0;
};

struct ParityReport {
  double logits_rel_l2 = 0, logits_max_abs = 0;
  double loss = 0, golden_loss = 0, loss_abs_err = 0, loss_bound = 0;
  double inv_freq_rel = 0;
  std::vector<TensorError> grads;
  std::vector<std::string> missing;  // trainable parameters without a golden gradient
  double worst_grad_rel_l2 = 0;
  double forward_backward_ms = 0;
  bool pass = false;
};

double rel_l2(const float* a, const double* ref, size_t n, double* max_abs = nullptr);

// Loads the golden batch, runs forward + backward once (timed) on the engine, compares. An engine
// without gradient memory gets it for every tensor first.
ParityReport parity_run(Engine& e, const std::string& golden_path, const ParityBounds& bounds = {});

// HF-shifted targets from labels: targets[b,t] = labels[b,t+1], targets[b,T-1] = -100.
std::vector<int32_t> targets_from_labels(const std::vector<int64_t>& labels, int B, int T);

}  // namespace tsft
