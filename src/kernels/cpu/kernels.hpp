// CPU reference kernels (fp32 for the engine, fp64 for the finite-difference gradient checks).
// Each layer is an x_forward / x_backward pair over plain pointers. Argument order:
// outputs -> saved activations -> inputs -> parameters -> dims (legend: N tokens = B*T, C hidden,
// H query heads, KV key/value heads, D head dim, F MLP width, V vocabulary).
//
// Gradient convention (as in llm.c): every *_backward ACCUMULATES (+=) into its input gradients and
// parameter gradients; the caller zeroes them. A null parameter-gradient pointer means "frozen": that
// gradient is skipped while the input gradient still flows. Exceptions are marked "in place".
#pragma once
#include <cstddef>
#include <cstdint>

namespace tsft {

// ---- threading ---------------------------------------------------------------------------------
// The engine parallelises with OpenMP and calls OpenBLAS single-threaded from inside its own
// partitions, so results depend only on the thread count (determinism).
void kernels_init_threads(int n_threads);  // n <= 0: OMP default
int kernels_num_threads();

// ---- matmul: out[N,O] = inp[N,I] @ weight[O,I]^T + bias[O] -------------------------------------
template <typename T>
void matmul_forward(T* out, const T* inp, const T* weight, const T* bias, int N, int I, int O);
// dinp[N,I] += dout @ weight; dweight[O,I] += dout^T @ inp; dbias[O] += sum_n dout.
template <typename T>
void matmul_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight, int N,
                     int I, int O);

// ---- embedding: out[n,:] = table[ids[n],:] ------------------------------------------------------
// Throws tsft::Error if an id is outside [0, V).
template <typename T>
void embedding_forward(T* out, const int32_t* ids, const T* table, int N, int C, int V);
template <typename T>
void embedding_backward(T* dtable, const T* dout, const int32_t* ids, int N, int C);

// ---- RMSNorm over the last dim: out = weight * x * rstd, rstd = 1/sqrt(mean(x^2) + eps) -----------
template <typename T>
void rmsnorm_forward(T* out, T* rstd, const T* inp, const T* weight, int N, int C, double eps);
// Residual add fused with the norm after it: sum = a + b, out = rmsnorm(sum) (bit-identical to the
// add followed by rmsnorm_forward). Backward is rmsnorm_backward on sum; d sum flows to a and b as is.
template <typename T>
void residual_rmsnorm_forward(T* sum, T* out, T* rstd, const T* a, const T* b, const T* weight, int N, int C,
                              double eps);
template <typename T>
void rmsnorm_backward(T* dinp, T* dweight, const T* dout, const T* inp, const T* rstd, const T* weight, int N,
                      int C);

// ---- RoPE (HF rotate_half convention), in place on x[N, nh, D] ----------------------------------
// cos/sin tables are [max_pos, D/2]; token n uses row pos[n].
// x'[i] = x[i] cos - x[i+D/2] sin ; x'[i+D/2] = x[i+D/2] cos + x[i] sin   (i < D/2)
template <typename T>
void rope_forward(T* x, const int32_t* pos, const T* cos, const T* sin, int N, int nh, int D);
// In place: dx = R(-theta) dx (the transpose of the rotation).
template <typename T>
void rope_backward(T* dx, const int32_t* pos, const T* cos, const T* sin, int N, int nh, int D);
// inv_freq comes from the model's RoPE configuration: rope_inv_freq in model/rope.hpp.
// cos/sin tables [max_pos, D/2] from inv_freq (angles in double, rounded once to T).
template <typename T>
void rope_tables(T* cos, T* sin, const double* inv_freq, int max_pos, int D);

// ---- causal self-attention with grouped KV heads and per-token document ids ----------------------
// q[N,H*D], k,v[N,KV*D] with N = B*T (row b holds tokens b*T .. b*T+T-1). Token t attends to s <= t
// of the same row with doc[s] == doc[t] (packed documents never see each other); doc may be null
// (one document per row). probs[B,H,T,T] saved for backward (masked entries are 0).
// out[N,H*D] = softmax(q k^T / sqrt(D) + mask) v ; query head h uses kv head h / (H/KV).
template <typename T>
void attention_forward(T* out, T* probs, const T* q, const T* k, const T* v, const int32_t* doc, int B,
                       int T_, int H, int KV, int D);
// dq, dk, dv accumulate. scratch: B*H*T*T elements (or null to allocate internally).
template <typename T>
void attention_backward(T* dq, T* dk, T* dv, T* scratch, const T* dout, const T* probs, const T* q,
                        const T* k, const T* v, const int32_t* doc, int B, int T_, int H, int KV, int D);

// The same with the attention core's GEMMs on a GemmOps (kernels/cpu/gemm_ops.hpp); softmax and its
// backward stay fp32 as above.
struct GemmOps;
void attention_forward(GemmOps& g, float* out, float* probs, const float* q, const float* k, const float* v,
                       const int32_t* doc, int B, int T_, int H, int KV, int D);
void attention_backward(GemmOps& g, float* dq, float* dk, float* dv, float* scratch, const float* dout,
                        const float* probs, const float* q, const float* k, const float* v,
                        const int32_t* doc, int B, int T_, int H, int KV, int D);

// The same core on AVX-512 register tiles, query blocks cut at document starts (attention_fused.cpp):
// fp32, summation order differs from the above. probs is written (and read by the backward) only in
// each query's block key range [block's first key, block end); other entries are left as they were.
// Available when attention_fused_supported(D) (AVX-512 CPU, D a multiple of 16).
bool attention_fused_supported(int D);
void attention_forward_fused(float* out, float* probs, const float* q, const float* k, const float* v,
                             const int32_t* doc, int B, int T_, int H, int KV, int D);
void attention_backward_fused(float* dq, float* dk, float* dv, const float* dout, const float* probs,
                              const float* q, const float* k, const float* v, const int32_t* doc, int B, int T_,
                              int H, int KV, int D);

// ---- SwiGLU: out = silu(gate) * up, silu(g) = g * sigmoid(g), elementwise over n -----------------
template <typename T>
void swiglu_forward(T* out, const T* gate, const T* up, size_t n);
template <typename T>
void swiglu_backward(T* dgate, T* dup, const T* dout, const T* gate, const T* up, size_t n);

// ---- softmax cross-entropy over rows of logits, ignore index -100 --------------------------------
// Returns the SUM of -log p[target] over non-ignored rows (in double) and counts them in *n_valid.
// If dlogits is non-null it receives (softmax - onehot) * grad_scale per valid row, 0 for ignored rows
// (overwritten, may alias logits: in place).
template <typename T>
double crossentropy_forward_backward(T* dlogits, int64_t* n_valid, const T* logits, const int32_t* targets,
                                     int N, int V, double grad_scale);

// ---- fused final projection + cross-entropy -------------------------------------------------------
// Processes the non-ignored rows in chunks of chunk_rows: logits_chunk = x @ W^T, loss, and (if dx/dW
// given) immediately dx += dlogits @ W, dW += dlogits^T @ x, so [N x V] never exists.
// scratch: lm_head_ce_scratch_size(chunk_rows, C, V, dx != null) elements (logits, gathered rows and
// their gradient), or null to allocate internally. Returns the summed loss; *n_valid counts
// non-ignored targets.
template <typename T>
double lm_head_ce_forward_backward(T* dx, T* dW, int64_t* n_valid, T* scratch, int chunk_rows, const T* x,
                                   const T* W, const int32_t* targets, int N, int C, int V,
                                   double grad_scale);
size_t lm_head_ce_scratch_size(int chunk_rows, int C, int V, bool dx);
// The same with the GEMMs of a GemmOps (kernels/cpu/gemm_ops.hpp; e.g. bf16 inputs, fp32 accumulation).
double lm_head_ce_forward_backward(GemmOps& g, float* dx, float* dW, int64_t* n_valid, float* scratch,
                                   int chunk_rows, const float* x, const float* W, const int32_t* targets,
                                   int N, int C, int V, double grad_scale);

// ---- AdamW (decoupled weight decay, torch.optim.AdamW semantics), step counts from 1 --------------
// p -= lr*wd*p; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
// p -= (lr / (1-b1^t)) * m / (sqrt(v) / sqrt(1-b2^t) + eps)
void adamw_update(float* param, const float* grad, float* m, float* v, size_t n, double lr, double beta1,
                  double beta2, double eps, double weight_decay, int64_t step);
// The same update for several tensors in one parallel region (one thread-pool job per step instead of
// one per tensor); results are bit-identical to adamw_update per segment.
struct AdamwSegment {
  float* param;
  const float* grad;
  float *m, *v;
  size_t n;
  double weight_decay;
};
void adamw_update_segments(const AdamwSegment* segs, int n_segs, double lr, double beta1, double beta2,
                           double eps, int64_t step);
// sum_i g_i^2 in double over the fixed chunks of the thread split (deterministic for a thread count).
double sum_squares(const float* g, size_t n);
// g *= c
void scale_inplace(float* g, size_t n, float c);

}  // namespace tsft

namespace tsft {
// ---- attention over a KV cache (inference) --------------------------------------------------------
// Caches kc, vc: [S slots, P positions, KV*D]. Row b of the batch belongs to slot[b]; its token t sits
// at position pos[b*T+t]. kv_cache_store writes the new k/v rows into their (slot, position);
// attention_cached_forward lets token (b,t) attend to cache positions 0..pos of its slot (causal).
void kv_cache_store(float* kc, float* vc, const float* k, const float* v, const int32_t* slot,
                    const int32_t* pos, int B, int T_, int KVD, int P);
void attention_cached_forward(float* out, const float* q, const float* kc, const float* vc,
                              const int32_t* slot, const int32_t* pos, int B, int T_, int H, int KV, int D,
                              int P);
}  // namespace tsft
