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

#include <atomic>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <unordered_map>
#include <vector>

#include "core/error.hpp"
#include "kernels/cpu/bf16.hpp"
#include "kernels/cpu/bf16_gemv.hpp"
#include "kernels/cpu/blas.hpp"
#include "kernels/cpu/kernels.hpp"

namespace tsft {

// Per-shape rule (measured, bench/README.md "GEMM backends" and "fp32 engine on oneDNN"): forwards of
// at most 16 rows stay on the reference's dot-product kernel, which reads each weight row once. Per
// shape oneDNN loses at N = 1 on every shape and at N = 4 on 7 of 8 (0.2-1.2x) and is mixed at N = 16
// (0.8-1.7x), but its calls are split into column chunks of a few dozen outputs there and their
// overhead dominates: end to end, batched generation (16 rows per decode step) ran at 0.76-0.80x of the
// reference with the rule at N <= 4 and 0.95x with it at N <= 16. Everything else goes to oneDNN.
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

// A primitive and the size of the scratchpad it needs. The scratchpad is ours (scratchpad_mode::user,
// one buffer per calling thread): the library's shared scratchpad is not safe for calls running
// concurrently on the pool's threads (observed: wrong results from concurrent chunks).
struct Prim {
  dnnl::matmul mm;
  size_t scratch_bytes;
  uint64_t id;  // unique over the process (per-thread memory objects are keyed by it)
};

// The memory objects of one primitive's arguments on one thread, made once: a call only points them at
// its operands (set_data_handle) and executes through the C API with a fixed argument array, so a
// call allocates nothing (creating four dnnl::memory and an argument map per call was ~25% of batched
// decoding, in malloc and descriptor set-up).
struct CallMems {
  dnnl::memory src, weights, dst, bias, scratch;
};

Prim make_matmul(const Key& k) {
  const dt in = k.bf16 ? dt::bf16 : dt::f32;
  auto a = strided_md(k.M, k.K, k.ta, k.lda, in);
  auto b = strided_md(k.K, k.N, k.tb, k.ldb, in);
  auto c = strided_md(k.M, k.N, false, k.ldc, dt::f32);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (k.alpha != 1.f) attr.set_output_scales(0, {k.alpha});
  if (k.beta != 0.f) {
    dnnl::post_ops po;
    po.append_sum(k.beta);
    attr.set_post_ops(po);
  }
  auto& eng = cpu_engine();
  dnnl::memory::desc bias(dims{1, k.N}, dt::f32, dims{k.N, 1});
  auto pd = k.bias ? dnnl::matmul::primitive_desc(dnnl::matmul::desc(a, b, bias, c), attr, eng)
                   : dnnl::matmul::primitive_desc(dnnl::matmul::desc(a, b, c), attr, eng);
  static std::atomic<uint64_t> next_id{0};
  return Prim{dnnl::matmul(pd), pd.scratchpad_desc().get_size(), next_id++};
}

// Sets this thread's OpenMP thread count (a per-thread setting in libgomp) for one scope.
struct OmpThreads {
  int saved;
  explicit OmpThreads(int n) : saved(omp_get_max_threads()) {
    if (n != saved) omp_set_num_threads(n);
  }
  ~OmpThreads() {
    if (omp_get_max_threads() != saved) omp_set_num_threads(saved);
  }
};

// bf16 forwards with at most this many rows use bf16_few_rows_forward instead of oneDNN.
constexpr int kBf16GemvRows = 8;

// Rows of C per thread from which run() splits rows rather than columns.
constexpr int kRowSplitRows = 64;

class DnnlGemmOps final : public GemmOps {
 public:
  explicit DnnlGemmOps(const DnnlOptions& o)
      : bf16_(o.bf16), shape_rule_(o.shape_rule), omp_team_(o.omp_team) {}
  GemmKind kind() const override { return bf16_ ? GemmKind::dnnl_bf16 : GemmKind::dnnl_fp32; }
  const char* name() const override { return gemm_kind_name(kind()); }

  void forward(float* out, const float* inp, const float* W, const float* bias, int N, int I,
               int O) override {
    if (N <= 0 || O <= 0) return;
    if (!bf16_ && shape_rule_ && dnnl_fp32_prefers_reference_forward(N, I, O))
      return matmul_forward<float>(out, inp, W, bias, N, I, O);
    if (bf16_ && shape_rule_ &&
        N <= kBf16GemvRows) {  // decode: the bf16 dot-product kernel (bench/README.md)
      thread_local std::vector<bf16_t> xb;
      int ld = I;
      const bf16_t* x = to_bf16(xb, inp, N, I, I, &ld);
      return bf16_few_rows_forward(out, x, weight_bf16(W, (size_t)O * I), bias, N, I, O);
    }
    run(Key{false, true, bias != nullptr, bf16_, N, O, I, I, I, O, 0, 1.f, 0.f}, inp, W, true, bias, out);
  }

  void backward(float* dinp, float* dW, float* dbias, const float* dout, const float* inp, const float* W,
                int N, int I, int O) override {
    if (N <= 0) return;
    const bf16_t* dout_b = nullptr;  // bf16: dout rounded once for both products
    if (bf16_ && dinp && dW) {
      thread_local std::vector<bf16_t> buf;
      int ld = O;
      dout_b = to_bf16(buf, dout, N, O, O, &ld);
    }
    if (dinp)  // dinp[N,I] += dout[N,O] @ W[O,I]
      run(Key{false, false, false, bf16_, N, I, O, O, I, I, 0, 1.f, 1.f}, dout, W, true, nullptr, dinp, false,
          dout_b);
    if (dW)  // dW[O,I] += dout^T[O,N] @ inp[N,I]
      run(Key{true, false, false, bf16_, O, I, N, O, I, I, 0, 1.f, 1.f}, dout, inp, false, nullptr, dW, true,
          dout_b);
    if (dbias) bias_grad(dbias, dout, N, O);
  }

  void gemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
            int ldb, float beta, float* C, int ldc) override {
    if (M <= 0 || N <= 0) return;
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
  // Rounds the operands (bf16), then runs op(A) op(B) on the engine's pool: the rows of C (or its
  // columns when there are few rows, or the reduction dim when k_split) are cut into the fixed chunks
  // of parallel_chunks and each chunk is one single-threaded oneDNN call. b_is_weight: with bf16, B
  // comes from the weight cache instead of being rounded now; a_bf16: A already rounded (dense).
  void run(Key k, const float* A, const float* B, bool b_is_weight, const float* bias, float* C,
           bool k_split = false, const bf16_t* a_bf16 = nullptr) {
    if (k.M <= 0 || k.N <= 0) return;
    if (k.K <= 0) return empty_sum(k, bias, C);
    const void* a = A;
    const void* b = B;
    if (bf16_) {  // packed bf16 operands get dense leading dims
      thread_local std::vector<bf16_t> abuf, bbuf;
      const int ar = k.ta ? k.K : k.M, ac = k.ta ? k.M : k.K, br = k.tb ? k.N : k.K, bc = k.tb ? k.K : k.N;
      if (a_bf16)
        a = a_bf16, k.lda = ac;
      else
        a = to_bf16(abuf, A, ar, ac, k.lda, &k.lda);
      b = b_is_weight ? weight_bf16(B, (size_t)br * k.ldb) : to_bf16(bbuf, B, br, bc, k.ldb, &k.ldb);
    }
    if (omp_team_) return call(k, a, b, bias, C, true);
    if (k_split && run_k_split(k, a, b, C)) return;
    if (k.M >= kRowSplitRows * omp_get_max_threads()) {
      parallel_chunks(
          k.M, 4,
          [&](long m0, long m1, int, int) {
            Key c = k;
            c.M = (int)(m1 - m0);
            call(c, adv(a, off_a(k, m0, 0)), b, bias, C + m0 * k.ldc, false);
          },
          2.0 * k.K * k.N);
    } else {  // few rows: split the columns (each chunk reads its part of B)
      parallel_chunks(
          k.N, 16,
          [&](long n0, long n1, int, int) {
            Key c = k;
            c.N = (int)(n1 - n0);
            call(c, a, adv(b, off_b(k, 0, n0)), bias ? bias + n0 : nullptr, C + n0, false);
          },
          2.0 * k.K * k.M);
    }
  }

  // K = 0: C = beta C + bias (beta == 0 must not read C).
  static void empty_sum(const Key& k, const float* bias, float* C) {
    for (int m = 0; m < k.M; m++)
      for (int n = 0; n < k.N; n++) {
        float& c = C[(size_t)m * k.ldc + n];
        c = (k.beta == 0.f ? 0.f : k.beta * c) + (bias ? bias[n] : 0.f);
      }
  }

  // C += over chunks of the reduction dim (dW = dout^T inp over the tokens): chunk 0 accumulates into C
  // with k.beta, chunk c > 0 into a partial, and the partials are added in chunk order (as
  // matmul_backward does; deterministic for a thread count). False when one chunk would do.
  bool run_k_split(const Key& k, const void* a, const void* b, float* C) {
    long per = k.K;
    const int nc = parallel_chunk_count(k.K, 16, 2.0 * k.M * k.N, &per, 1);
    if (nc <= 1) return false;
    const size_t MN = (size_t)k.M * k.N;
    thread_local std::vector<float> partial;
    if (partial.size() < (nc - 1) * MN) partial.resize((nc - 1) * MN);
    float* pw = partial.data();
    parallel_chunks(
        k.K, 16,
        [&](long k0, long k1, int ch, int) {
          Key c = k;
          c.K = (int)(k1 - k0);
          if (ch > 0) c.beta = 0.f, c.ldc = k.N;
          call(c, adv(a, off_a(k, 0, k0)), adv(b, off_b(k, k0, 0)), nullptr, ch == 0 ? C : pw + (ch - 1) * MN,
               false);
        },
        2.0 * k.M * k.N, 1);
    parallel_blocks(
        k.M, 1,
        [&](long m0, long m1, int) {
          for (int ch = 1; ch < nc; ch++)
            for (long m = m0; m < m1; m++) {
              const float* src = pw + (ch - 1) * MN + m * k.N;
              float* dst = C + m * k.ldc;
              for (int n = 0; n < k.N; n++) dst[n] += src[n];
            }
        },
        (double)nc * k.N);
    return true;
  }

  // Element offsets of op(A)[m0, k0] and op(B)[k0, n0]; adv moves a pointer of the operand dtype.
  static size_t off_a(const Key& k, long m0, long k0) { return k.ta ? k0 * k.lda + m0 : m0 * k.lda + k0; }
  static size_t off_b(const Key& k, long k0, long n0) { return k.tb ? n0 * k.ldb + k0 : k0 * k.ldb + n0; }
  const void* adv(const void* p, size_t elems) const {
    return static_cast<const char*>(p) + elems * (bf16_ ? sizeof(bf16_t) : sizeof(float));
  }

  // One oneDNN call on this thread (team: on an OpenMP team of omp_get_max_threads(), unless inside a
  // pool task).
  void call(Key k, const void* a, const void* b, const float* bias, float* C, bool team) {
    OmpThreads scoped(team && !pool_in_task() ? omp_get_max_threads() : 1);
    k.nthr = omp_get_max_threads();
    Prim prim = primitive(k);
    thread_local std::vector<char> scratch;
    if (scratch.size() < prim.scratch_bytes) scratch.resize(prim.scratch_bytes);
    CallMems& m = call_mems(k, prim);
    m.src.set_data_handle(const_cast<void*>(a));
    m.weights.set_data_handle(const_cast<void*>(b));
    m.dst.set_data_handle(C);
    m.scratch.set_data_handle(scratch.data());
    dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, m.src.get()},
                               {DNNL_ARG_WEIGHTS, m.weights.get()},
                               {DNNL_ARG_DST, m.dst.get()},
                               {DNNL_ARG_SCRATCHPAD, m.scratch.get()},
                               {DNNL_ARG_BIAS, nullptr}};
    int nargs = 4;
    if (k.bias) {
      m.bias.set_data_handle(const_cast<float*>(bias));
      args[nargs++].memory = m.bias.get();
    }
    dnnl::error::wrap_c_api(dnnl_primitive_execute(prim.mm.get(), thread_stream().get(), nargs, args),
                            "could not execute a matmul");
    thread_stream().wait();
  }

  // This thread's memory objects for a primitive (descriptors from its key), made on first use. The
  // map is dropped when it reaches kMaxPrimitives entries, as the primitive cache is.
  CallMems& call_mems(const Key& k, const Prim& prim) {
    thread_local std::unordered_map<uint64_t, CallMems> mems;
    auto it = mems.find(prim.id);
    if (it != mems.end()) return it->second;
    if (mems.size() >= kMaxPrimitives) mems.clear();
    auto& eng = cpu_engine();
    const dt in = bf16_ ? dt::bf16 : dt::f32;
    CallMems m;
    m.src = dnnl::memory(strided_md(k.M, k.K, k.ta, k.lda, in), eng, DNNL_MEMORY_NONE);
    m.weights = dnnl::memory(strided_md(k.K, k.N, k.tb, k.ldb, in), eng, DNNL_MEMORY_NONE);
    m.dst = dnnl::memory(strided_md(k.M, k.N, false, k.ldc, dt::f32), eng, DNNL_MEMORY_NONE);
    m.scratch = dnnl::memory(dnnl::memory::desc(dims{(dnnl::memory::dim)prim.scratch_bytes}, dt::u8, dims{1}),
                             eng, DNNL_MEMORY_NONE);
    if (k.bias)
      m.bias = dnnl::memory(dnnl::memory::desc(dims{1, k.N}, dt::f32, dims{k.N, 1}), eng, DNNL_MEMORY_NONE);
    return mems.emplace(prim.id, std::move(m)).first->second;
  }

  // A new shape costs one JIT compile (~1 ms; oneDNN's own cache of 1024 makes a re-creation ~3 us).
  // Shapes that vary from call to call (the LM head's last chunk of valid rows) would grow the map
  // without bound, so it is dropped when it reaches kMaxPrimitives.
  Prim primitive(const Key& k) {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = prims_.find(k);
    if (it == prims_.end()) {
      if (prims_.size() >= kMaxPrimitives) prims_.clear();
      it = prims_.emplace(k, make_matmul(k)).first;
    }
    return it->second;
  }
  static constexpr size_t kMaxPrimitives = 512;

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

  bool bf16_, shape_rule_, omp_team_;
  std::mutex mu_;
  std::unordered_map<Key, Prim, KeyHash> prims_;
  std::unordered_map<const float*, std::vector<bf16_t>> wcache_;
};

}  // namespace

std::string onednn_version() {
  const dnnl_version_t* v = dnnl_version();
  return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
}

std::unique_ptr<GemmOps> make_dnnl_gemm_ops(const DnnlOptions& options) {
  return std::make_unique<DnnlGemmOps>(options);
}

}  // namespace tsft
