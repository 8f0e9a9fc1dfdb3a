// GemmOps on oneDNN matmul primitives (fp32, and bf16 inputs with fp32 accumulation and output).
//
// Every GEMM is C[M,N] = alpha op(A) op(B) (+ bias) + beta C with row-major strided operands, expressed
// as a matmul with strided memory descriptors (a transpose is a stride swap, no copy). Primitives are
// cached per (shape, strides, dtype, alpha, beta, bias, threads). Debian's libdnnl uses the OpenMP
// runtime: a call runs one OpenMP team of omp_get_max_threads() threads; inside a pool task the
// thread count is set to 1 for the call (no nested teams on top of the pool).
//
// bf16: activations are rounded to bf16 (f32_to_bf16, RNE) into per-thread scratch; weights come
// from a bf16 copy cached by (pointer, size) until weights_changed().
#include "kernels/cpu/gemm_ops_dnnl.hpp"

#include <omp.h>

#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <unordered_map>
#include <vector>

#include "core/error.hpp"
#include "kernels/cpu/bf16.hpp"
#include "kernels/cpu/blas.hpp"
#include "kernels/cpu/kernels.hpp"

namespace tsft {

// Per-shape rule (measured, bench/README.md "GEMM backends"): decoding-sized forwards (N <= 16 rows)
// stay on the reference's dot-product kernel, which reads each weight row once; everything else goes
// to oneDNN.
bool dnnl_fp32_prefers_reference_forward(int N, int I, int O) {
  return N <= 16;
}

namespace {

using dt = dnnl::memory::data_type;
using dims = dnnl::memory::dims;

struct Key {
  bool ta, tb, bias, bf16;
  int M, N, K, lda, ldb, ldc, nthr;
  float alpha, beta;
  bool operator==(const Key& o) const {
    return ta == o.ta && tb == o.tb && bias == o.bias && bf16 == o.bf16 && M == o.M && N == o.N && K == o.K &&
           lda == o.lda && ldb == o.ldb && ldc == o.ldc && nthr == o.nthr && alpha == o.alpha &&
           beta == o.beta;
  }
};
struct KeyHash {
  size_t operator()(const Key& k) const {
    size_t h = (size_t)k.ta | (size_t)k.tb << 1 | (size_t)k.bias << 2 | (size_t)k.bf16 << 3;
    for (int v : {k.M, k.N, k.K, k.lda, k.ldb, k.ldc, k.nthr}) h = h * 1000003u ^ (size_t)v;
    return h;
  }
};

dnnl::engine& cpu_engine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}
dnnl::stream& thread_stream() {
  thread_local dnnl::stream s(cpu_engine());
  return s;
}

// op(X)[rows, cols] of a row-major array with leading dim ld: strides {ld, 1}, or {1, ld} transposed.
dnnl::memory::desc strided_md(int rows, int cols, bool trans, int ld, dt type) {
  return dnnl::memory::desc(dims{rows, cols}, type, trans ? dims{1, ld} : dims{ld, 1});
}

dnnl::matmul make_matmul(const Key& k) {
  const dt in = k.bf16 ? dt::bf16 : dt::f32;
  auto a = strided_md(k.M, k.K, k.ta, k.lda, in);
  auto b = strided_md(k.K, k.N, k.tb, k.ldb, in);
  auto c = strided_md(k.M, k.N, false, k.ldc, dt::f32);
  dnnl::primitive_attr attr;
  if (k.alpha != 1.f) attr.set_output_scales(0, {k.alpha});
  if (k.beta != 0.f) {
    dnnl::post_ops po;
    po.append_sum(k.beta);
    attr.set_post_ops(po);
  }
  auto& eng = cpu_engine();
  if (k.bias) {
    dnnl::memory::desc bias(dims{1, k.N}, dt::f32, dims{k.N, 1});
    return dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(a, b, bias, c), attr, eng));
  }
  return dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(a, b, c), attr, eng));
}

// Sets this thread's OpenMP thread count to 1 while inside a pool task (restored on exit).
struct PoolTaskThreads {
  int saved = 0;
  PoolTaskThreads() {
    if (pool_in_task()) {
      saved = omp_get_max_threads();
      omp_set_num_threads(1);
    }
  }
  ~PoolTaskThreads() {
    if (saved) omp_set_num_threads(saved);
  }
};

class DnnlGemmOps final : public GemmOps {
 public:
  explicit DnnlGemmOps(bool bf16) : bf16_(bf16) {}
  GemmKind kind() const override { return bf16_ ? GemmKind::dnnl_bf16 : GemmKind::dnnl_fp32; }
  const char* name() const override { return gemm_kind_name(kind()); }

  void forward(float* out, const float* inp, const float* W, const float* bias, int N, int I,
               int O) override {
    if (N <= 0 || O <= 0) return;
    if (!bf16_ && dnnl_fp32_prefers_reference_forward(N, I, O))
      return matmul_forward<float>(out, inp, W, bias, N, I, O);
    run(Key{false, true, bias != nullptr, bf16_, N, O, I, I, I, O, 0, 1.f, 0.f}, inp, W, true, bias, out);
  }

  void backward(float* dinp, float* dW, float* dbias, const float* dout, const float* inp, const float* W,
                int N, int I, int O) override {
    if (N <= 0) return;
    if (dinp)  // dinp[N,I] += dout[N,O] @ W[O,I]
      run(Key{false, false, false, bf16_, N, I, O, O, I, I, 0, 1.f, 1.f}, dout, W, true, nullptr, dinp);
    if (dW)  // dW[O,I] += dout^T[O,N] @ inp[N,I]
      run(Key{true, false, false, bf16_, O, I, N, O, I, I, 0, 1.f, 1.f}, dout, inp, false, nullptr, dW);
    if (dbias) bias_grad(dbias, dout, N, O);
  }

  void gemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
            int ldb, float beta, float* C, int ldc) override {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {  // empty sum: C = beta C (beta == 0 must not read C)
      for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++)
          C[(size_t)m * ldc + n] = beta == 0.f ? 0.f : beta * C[(size_t)m * ldc + n];
      return;
    }
    run(Key{ta, tb, false, bf16_, M, N, K, lda, ldb, ldc, 0, alpha, beta}, A, B, false, nullptr, C);
  }

  void weights_changed(const float* W) override {
    std::lock_guard<std::mutex> lk(mu_);
    if (W)
      wcache_.erase(W);
    else
      wcache_.clear();
  }

 private:
  // Runs the cached primitive for k. b_is_weight: with bf16, B comes from the weight cache instead of
  // being rounded now.
  void run(Key k, const float* A, const float* B, bool b_is_weight, const float* bias, float* C) {
    PoolTaskThreads scoped;
    k.nthr = omp_get_max_threads();
    const void* a = A;
    const void* b = B;
    if (bf16_) {  // packed bf16 operands get dense leading dims, so round before choosing the primitive
      thread_local std::vector<bf16_t> abuf, bbuf;
      const int ar = k.ta ? k.K : k.M, ac = k.ta ? k.M : k.K, br = k.tb ? k.N : k.K, bc = k.tb ? k.K : k.N;
      a = to_bf16(abuf, A, ar, ac, k.lda, &k.lda);
      b = b_is_weight ? weight_bf16(B, (size_t)br * k.ldb) : to_bf16(bbuf, B, br, bc, k.ldb, &k.ldb);
    }
    dnnl::matmul prim = primitive(k);
    auto& eng = cpu_engine();
    const dt in = bf16_ ? dt::bf16 : dt::f32;
    std::unordered_map<int, dnnl::memory> args{
        {DNNL_ARG_SRC, dnnl::memory(strided_md(k.M, k.K, k.ta, k.lda, in), eng, const_cast<void*>(a))},
        {DNNL_ARG_WEIGHTS, dnnl::memory(strided_md(k.K, k.N, k.tb, k.ldb, in), eng, const_cast<void*>(b))},
        {DNNL_ARG_DST, dnnl::memory(strided_md(k.M, k.N, false, k.ldc, dt::f32), eng, C)}};
    if (k.bias)
      args.emplace(DNNL_ARG_BIAS, dnnl::memory(dnnl::memory::desc(dims{1, k.N}, dt::f32, dims{k.N, 1}), eng,
                                               const_cast<float*>(bias)));
    prim.execute(thread_stream(), args);
    thread_stream().wait();
  }

  dnnl::matmul primitive(const Key& k) {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = prims_.find(k);
    if (it == prims_.end()) it = prims_.emplace(k, make_matmul(k)).first;
    return it->second;
  }

  // Rounds a strided [rows, cols] fp32 operand into dense bf16 scratch; *ld becomes cols.
  static const bf16_t* to_bf16(std::vector<bf16_t>& buf, const float* src, int rows, int cols, int ld,
                               int* ld_out) {
    if (buf.size() < (size_t)rows * cols) buf.resize((size_t)rows * cols);
    f32_to_bf16_rows(buf.data(), src, rows, cols, ld);
    *ld_out = cols;
    return buf.data();
  }

  // The cached bf16 copy of a weight array of n elements (made on first use).
  const bf16_t* weight_bf16(const float* W, size_t n) {
    std::lock_guard<std::mutex> lk(mu_);
    auto& v = wcache_[W];
    if (v.size() != n) {
      v.resize(n);
      f32_to_bf16_parallel(v.data(), W, n);
    }
    return v.data();
  }

  static void bias_grad(float* dbias, const float* dout, int N, int O) {
    parallel_blocks(
        O, 64,
        [&](long o0, long o1, int) {
          for (long o = o0; o < o1; o++) {
            float s = 0;
            for (long n = 0; n < N; n++) s += dout[n * O + o];
            dbias[o] += s;
          }
        },
        (double)N);
  }

  bool bf16_;
  std::mutex mu_;
  std::unordered_map<Key, dnnl::matmul, KeyHash> prims_;
  std::unordered_map<const float*, std::vector<bf16_t>> wcache_;
};

}  // namespace

std::unique_ptr<GemmOps> make_dnnl_gemm_ops(bool bf16) {
  return std::make_unique<DnnlGemmOps>(bf16);
}

}  // namespace tsft
