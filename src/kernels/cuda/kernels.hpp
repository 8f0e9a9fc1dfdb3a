// CUDA kernels with the CPU signatures of kernels/cpu/kernels.hpp (outputs -> saved activations ->
// inputs -> parameters -> dims), plus a stream (or a Context for cuBLAS work). All pointers are device
// pointers unless marked "host".
//
// Precision modes. T is the storage type of activations and weights: float (fp32 mode, the exact-
// parity target) or bf16 (bf16 storage, fp32 arithmetic inside every kernel, fp32 accumulation in every
// GEMM). In both modes saved statistics (rstd, attention log-sum-exp) are fp32 and PARAMETER gradients
// are fp32 (they accumulate into the fp32 master gradients of the optimizer); activation gradients are T.
//
// Gradient convention as on CPU: every *_backward ACCUMULATES (+=) into input and parameter gradients;
// a null parameter-gradient pointer means "frozen". Deterministic: no floating-point atomics anywhere,
// every reduction has a fixed order for a given shape.
//
// Differences from the CPU signatures (all forced by the device):
// - attention saves lse[B,H,T] (fp32 log-sum-exp per query) instead of probs[B,H,T,T]; backward
//   recomputes the probabilities from q, k and lse (O(T) memory instead of O(T^2)) and needs `out`.
// - embedding_backward takes V (the vocabulary is split into ranges so each table row has one owner).
// - kernels that reduce across rows take a scratch buffer (sizes from *_scratch_bytes); null means
//   "allocate it stream-ordered for this call" (convenient in tests; the engine passes planned memory).
// - RoPE tables are fp32 in both modes (computed on the host by rope_inv_freq/rope_tables<float>, the
//   same frequencies as the CPU engine, and uploaded).
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "kernels/cuda/runtime.hpp"

namespace tsft::cuda {

using bf16 = __nv_bfloat16;

// ---- conversions and small helpers ----------------------------------------------------------------
void convert(bf16* dst, const float* src, size_t n, cudaStream_t s);  // round to nearest even
void convert(float* dst, const bf16* src, size_t n, cudaStream_t s);

// ---- matmul: out[N,O] = inp[N,I] @ weight[O,I]^T + bias[O] ----------------------------------------
// Row-major C[M,N] = alpha op(A) op(B) + beta C, A and B of type T, C of type TC (T, or float for
// bf16 inputs), fp32 accumulation (no TF32). Dimensions as in kernels/cpu/blas.hpp gemm().
template <typename T, typename TC>
void gemm(Context& ctx, bool ta, bool tb, int M, int N, int K, float alpha, const T* A, int lda, const T* B,
          int ldb, float beta, TC* C, int ldc);
template <typename T>
void matmul_forward(Context& ctx, T* out, const T* inp, const T* weight, const T* bias, int N, int I, int O);
// dinp[N,I] += dout @ weight; dweight[O,I] += dout^T @ inp; dbias[O] += sum_n dout (fp32, fixed order).
// dinp / dweight / dbias may each be null. scratch: matmul_backward_scratch_bytes(O) (dbias only).
size_t matmul_backward_scratch_bytes(int O);
template <typename T>
void matmul_backward(Context& ctx, T* dinp, float* dweight, float* dbias, const T* dout, const T* inp,
                     const T* weight, int N, int I, int O, void* scratch);

// ---- embedding: out[n,:] = table[ids[n],:] ----------------------------------------------------------
// An id outside [0, V) writes a zero row and is recorded on the device; embedding_check_ids() (a
// synchronising call) throws tsft::Error naming the first such position and id, then clears the record.
template <typename T>
void embedding_forward(T* out, const int32_t* ids, const T* table, int N, int C, int V, cudaStream_t s);
void embedding_check_ids(cudaStream_t s);
// dtable[ids[n], :] += dout[n, :]: the vocabulary is split into ranges, one block owns (range, column
// tile) and adds the rows of its ids in token order (deterministic, no atomics).
template <typename T>
void embedding_backward(float* dtable, const T* dout, const int32_t* ids, int N, int C, int V, cudaStream_t s);

// ---- RMSNorm: out = weight * x * rstd, rstd = 1/sqrt(mean(x^2) + eps) -------------------------------
template <typename T>
void rmsnorm_forward(T* out, float* rstd, const T* inp, const T* weight, int N, int C, double eps,
                     cudaStream_t s);
size_t rmsnorm_backward_scratch_bytes(int C);
template <typename T>
void rmsnorm_backward(T* dinp, float* dweight, const T* dout, const T* inp, const float* rstd, const T* weight,
                      int N, int C, void* scratch, cudaStream_t s);

// ---- RoPE (HF rotate_half), in place on x[N, nh, D]; cos/sin [max_pos, D/2] fp32 -------------------
template <typename T>
void rope_forward(T* x, const int32_t* pos, const float* cos, const float* sin, int N, int nh, int D,
                  cudaStream_t s);
template <typename T>
void rope_backward(T* dx, const int32_t* pos, const float* cos, const float* sin, int N, int nh, int D,
                   cudaStream_t s);

// ---- SwiGLU: out = silu(gate) * up ----------------------------------------------------------------
template <typename T>
void swiglu_forward(T* out, const T* gate, const T* up, size_t n, cudaStream_t s);
template <typename T>
void swiglu_backward(T* dgate, T* dup, const T* dout, const T* gate, const T* up, size_t n, cudaStream_t s);

// ---- causal GQA attention over packed rows (semantics of the CPU attention_forward) ------------------
// q[N,H*D], k,v[N,KV*D], N = B*T; doc[N] per-token document ids or null. D <= 128.
template <typename T>
void attention_forward(T* out, float* lse, const T* q, const T* k, const T* v, const int32_t* doc, int B,
                       int T_, int H, int KV, int D, cudaStream_t s);
// dq, dk, dv accumulate. scratch: attention_backward_scratch_bytes (rowsum(dO * O) per query and head).
size_t attention_backward_scratch_bytes(int B, int T_, int H);
template <typename T>
void attention_backward(T* dq, T* dk, T* dv, void* scratch, const T* dout, const T* out, const float* lse,
                        const T* q, const T* k, const T* v, const int32_t* doc, int B, int T_, int H, int KV,
                        int D, cudaStream_t s);

// ---- softmax cross-entropy over fp32 logits rows, ignore index -100 (synchronises) -----------------
// Returns the SUM of -log p[target] over valid rows (double) and their count in *n_valid (host).
// dlogits (may alias logits, may be null) receives (softmax - onehot) * grad_scale, 0 on ignored rows.
// A target outside [0, V) that is not -100 throws tsft::Error naming the row. scratch: ce_scratch_bytes.
size_t ce_scratch_bytes(int N);
double crossentropy_forward_backward(float* dlogits, int64_t* n_valid, const float* logits,
                                     const int32_t* targets, int N, int V, double grad_scale, void* scratch,
                                     cudaStream_t s);

// ---- fused LM head + cross-entropy (synchronises once to learn the number of valid rows) -----------
// Valid rows (target != -100) are compacted in order and processed chunk_rows at a time: fp32 logits
// [chunk, V] = x_chunk @ W^T, loss, dlogits, then dx += dlogits @ W and dW += dlogits^T @ x_chunk, so at
// most chunk_rows x V fp32 logits exist at once. dx/dW null: no backward for that tensor.
size_t lm_head_ce_scratch_bytes(int chunk_rows, int N, int C, int V, bool bf16_storage);
template <typename T>
double lm_head_ce_forward_backward(Context& ctx, T* dx, float* dW, int64_t* n_valid, void* scratch,
                                   int chunk_rows, const T* x, const T* W, const int32_t* targets, int N, int C,
                                   int V, double grad_scale);

// ---- optimizer --------------------------------------------------------------------------------------
// One entry per trainable tensor of the flat buffers: param[param_offset ..+n] (fp32 master), its
// gradient and moments at grad_offset (gradients of trainable tensors are packed, as on CPU).
struct AdamwTensor {
  int64_t param_offset = 0, grad_offset = 0, n = 0;
  double weight_decay = 0;
};
// torch.optim.AdamW semantics (kernels/cpu adamw_update) over every listed tensor in one launch.
// tensors: device array. clip_coef: device scalar multiplying every gradient (from grad_global_norm) or
// null. param_lowp: bf16 copy of the parameters refreshed in the same pass, or null.
void adamw_update(float* param, bf16* param_lowp, const float* grad, float* m, float* v,
                  const AdamwTensor* tensors, int n_tensors, int64_t max_tensor_n, double lr, double beta1,
                  double beta2, double eps, int64_t step, const float* clip_coef, cudaStream_t s);
// norm = sqrt(sum g^2) over grad[0..n) in double (fixed order); clip_coef = clip/(norm+1e-6) when clip > 0
// and that is < 1, else 1 (torch clip_grad_norm_, as Optimizer::clip_gradients). Outputs on the device.
size_t grad_norm_scratch_bytes();
void grad_global_norm(double* norm, float* clip_coef, const float* grad, size_t n, double clip, void* scratch,
                      cudaStream_t s);

}  // namespace tsft::cuda
