// Forward and backward of the decoder over packed rows. Training and inference share model_forward.
//
// Batch: B rows of T tokens (N = B*T). targets[n] is the label the logits of token n predict
// (already shifted; -100 = ignored). pos[n] is the RoPE position (restarts per packed document),
// doc[n] the document id (attention never crosses documents; null = one document per row).
#pragma once
#include <cstdint>
#include <vector>

#include "model/model.hpp"

namespace tsft {

// KV cache for decoding: per layer [S slots, P positions, KV*D] keys and values.
struct KVCache {
  int L = 0, S = 0, P = 0, KVD = 0;
  std::vector<float> k, v;
  float* k_layer(int l) { return k.data() + (size_t)l * S * P * KVD; }
  float* v_layer(int l) { return v.data() + (size_t)l * S * P * KVD; }
};
KVCache kv_cache_create(const ModelConfig& cfg, int slots, int max_positions);

struct Batch {
  const int32_t* ids = nullptr;      // [N]
  const int32_t* targets = nullptr;  // [N] or null (no loss)
  const int32_t* pos = nullptr;      // [N]
  const int32_t* doc = nullptr;      // [N] or null
  int B = 0, T = 0;
  // Decoding: with a cache, k/v of these tokens are stored at (slot[b], pos) and attention reads
  // the cache (positions 0..pos of the row's slot) instead of the batch itself.
  KVCache* cache = nullptr;
  const int32_t* slot = nullptr;  // [B]
  // LoRA dropout mask of a training step (forward with backward_head; model/lora.hpp)
  uint64_t dropout_seed = 0;
};

// Saved activations and backward scratch, planned once for at most B_max x T_max tokens.
struct Activations {
  int B_max = 0, T_max = 0;
  bool training = false;
  int head_chunk = 256;  // rows per LM-head chunk (logits never exceed head_chunk x V)
  std::vector<float> mem;
  // per layer
  std::vector<float*> x;  // [L+1] residual stream entering layer l; x[L] enters the final norm
  std::vector<float*> ln1, ln1_rstd, qpre, q_rstd, kpre, k_rstd, q, k, v, probs, att, xmid, ln2, ln2_rstd,
      gate, up, h;
  float *lnf = nullptr, *lnf_rstd = nullptr, *tmp = nullptr;  // tmp [N,C]: projection outputs
  // backward scratch (training only)
  float *dres = nullptr, *dln = nullptr, *dq = nullptr, *dk = nullptr, *dv = nullptr, *datt = nullptr,
        *dkpre = nullptr, *dgate = nullptr, *dup = nullptr, *dh = nullptr, *dlnf = nullptr,
        *attn_scratch = nullptr, *head_scratch = nullptr;
  // LoRA (cfg.lora.r > 0): u = dropout(x) A^T [N,r] per layer and projection ([l * lora_num_proj + p]);
  // backward du [N,r]; with dropout, dropout(x) and its gradient [N, max in-features] (training only)
  std::vector<float*> lora_u;
  float *lora_du = nullptr, *lora_xd = nullptr, *lora_dxd = nullptr;
};

// Bytes the activations of (cfg, B, T) take; `training` adds backward scratch.
size_t activations_bytes(const ModelConfig& cfg, int B, int T, bool training, int head_chunk = 256);
Activations activations_create(const ModelConfig& cfg, int B, int T, bool training, int head_chunk = 256);

// The GEMM-bearing ops of a step (projections, the attention core, the LM head), supplied by the
// engine. This base class is the fp32 reference: the CPU kernels of kernels/cpu (matmul_forward /
// matmul_backward, attention_forward / attention_backward, lm_head_ce_forward_backward), so the
// fp32 engine is bit-identical to calling them directly. A mixed-precision engine overrides them.
struct StepOps {
  virtual ~StepOps() = default;
  // out[N,O] = inp[N,I] @ w[O,I]^T + b; backward accumulates as matmul_backward.
  virtual void linear_forward(float* out, const float* inp, const float* w, const float* b, int N, int I,
                              int O) const;
  virtual void linear_backward(float* dinp, float* dw, float* db, const float* dout, const float* inp,
                               const float* w, int N, int I, int O) const;
  virtual void attention_forward(float* out, float* probs, const float* q, const float* k, const float* v,
                                 const int32_t* doc, int B, int T, int H, int KV, int D) const;
  virtual void attention_backward(float* dq, float* dk, float* dv, float* scratch, const float* dout,
                                  const float* probs, const float* q, const float* k, const float* v,
                                  const int32_t* doc, int B, int T, int H, int KV, int D) const;
  // C[M,N] = alpha op(A) op(B) + beta C (blas.hpp gemm); the LoRA terms run on it.
  virtual void gemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda,
                    const float* B, int ldb, float beta, float* C, int ldc) const;
  virtual double head_ce(float* dx, float* dW, int64_t* n_valid, float* scratch, int chunk_rows,
                         const float* x, const float* W, const int32_t* targets, int N, int C, int V,
                         double grad_scale) const;
};
const StepOps& step_ops_reference();

struct ForwardResult {
  double loss_sum = 0;  // sum over valid targets of -log p
  int64_t n_valid = 0;  // number of non-ignored targets
};

// Forward over the batch. logits (optional, [N,V]) receives every position's logits. With
// batch.targets set, computes the loss; with backward_head also runs the fused LM-head +
// cross-entropy backward (dL/dlnf into act.dlnf, head gradient into model.g), scaling the per-token
// gradient by grad_scale (1 / total supervised tokens of the optimizer step, HF convention).
// ops: the engine's GEMMs (null = step_ops_reference()).
ForwardResult model_forward(Model& m, Activations& a, const Batch& b, float* logits = nullptr,
                            bool backward_head = false, double grad_scale = 1.0,
                            const StepOps* ops = nullptr);
// Backward from act.dlnf down to the embedding, mirroring model_forward line for line.
// Parameter gradients accumulate into model.g (frozen tensors are skipped). Needs gradient memory
// (Model::set_trainable).
void model_backward(Model& m, Activations& a, const Batch& b, const StepOps* ops = nullptr);

int64_t count_valid_targets(const int32_t* targets, size_t n);

// Optional per-operation profile (bench_train_step --profile): while one is installed, model_forward
// and model_backward add the wall seconds and the process CPU seconds (all threads, the pool's spin
// waits included) of each operation to its entry. Off by default (null): no clock reads.
struct OpProfile {
  std::vector<const char*> names;
  std::vector<double> secs, cpu_secs;
  void add(const char* name, double wall, double cpu);
};
void model_set_profile(OpProfile* p);

}  // namespace tsft
