// One harness for every GemmOps implementation: forward, backward (accumulate, frozen = null) and the
// general strided gemm against a double reference, within the bounds derived in gemm_ops_test_util.hpp.
#include <omp.h>

#include "core/error.hpp"
#include "gemm_ops_test_util.hpp"
#include "kernel_test_util.hpp"
#include "kernels/cpu/bf16_gemv.hpp"
#include "kernels/cpu/blas.hpp"
#include "kernels/cpu/gemm_ops.hpp"

namespace tsft::kernels_testing {
namespace {

const GemmKind kKinds[] = {GemmKind::reference, GemmKind::dnnl_fp32, GemmKind::dnnl_bf16};

std::vector<float> frand(size_t n, uint64_t seed, double scale = 1.0) {
  return cast<float>(randn(n, seed, scale));
}

// Checks got (leading dim ldc) against the exact result of the same gemm: the fp32 bound for fp32
// kinds; for bf16 the loose bound against fp32 inputs and the tight one against bf16-rounded inputs.
void expect_gemm_close(GemmKind kind, const std::vector<float>& got, bool ta, bool tb, int M, int N, int K,
                       double alpha, const std::vector<float>& A, int lda, const std::vector<float>& B,
                       int ldb, double beta, const std::vector<float>& C0, int ldc,
                       const std::vector<float>& bias = {}) {
  const double g = gamma_n(K + 2);
  GemmRef exact = gemm_ref(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C0, ldc, bias, false);
  int at = -1;
  if (kind != GemmKind::dnnl_bf16) {
    EXPECT_LE(worst_ratio(got, ldc, exact, M, N, g, &at), 1.0) << "fp32 bound, element " << at;
    return;
  }
  const double loose = bf16_product_rel() + g * (1 + bf16_product_rel());
  EXPECT_LE(worst_ratio(got, ldc, exact, M, N, loose, &at), 1.0) << "bf16 vs exact, element " << at;
  GemmRef rounded = gemm_ref(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C0, ldc, bias, true);
  EXPECT_LE(worst_ratio(got, ldc, rounded, M, N, g, &at), 1.0) << "bf16 vs rounded inputs, element " << at;
}

struct Shape {
  int N, I, O;
};
// An empty reduction (I = 0: out = bias, gradients unchanged), odd sizes, a single row, decode-sized row
// counts (<= 16), K = 1, and a few engine-like widths; with 2 threads the dnnl kinds split columns (M < 128),
// rows (M >= 128) and, for dW, the token dim.
const Shape kShapes[] = {{4, 0, 3},  {1, 7, 5},    {1, 256, 96},  {3, 64, 33},    {16, 48, 70}, {17, 96, 130},
                         {64, 1, 9}, {130, 33, 1}, {96, 256, 80}, {200, 70, 150}, {300, 64, 40}};

TEST(GemmOps, ForwardAllKinds) {
  ScopedThreads th(2);
  for (GemmKind kind : kKinds) {
    auto ops = make_gemm_ops(kind);
    for (const Shape& s : kShapes) {
      for (bool with_bias : {false, true}) {
        SCOPED_TRACE(std::string(ops->name()) + " N" + std::to_string(s.N) + " I" + std::to_string(s.I) +
                     " O" + std::to_string(s.O) + (with_bias ? " bias" : ""));
        auto x = frand((size_t)s.N * s.I, 1), w = frand((size_t)s.O * s.I, 2);
        auto b = with_bias ? frand(s.O, 3) : std::vector<float>{};
        std::vector<float> out((size_t)s.N * s.O, NAN);  // forward overwrites: NaN must not leak
        ops->forward(out.data(), x.data(), w.data(), with_bias ? b.data() : nullptr, s.N, s.I, s.O);
        expect_gemm_close(kind, out, false, true, s.N, s.O, s.I, 1, x, s.I, w, s.I, 0, {}, s.O, b);
        ops->weights_changed();  // the next shape reuses addresses of freed weights
      }
    }
  }
}

// dinp += dout W, dW += dout^T inp, dbias += sum dout, each starting from nonzero values (accumulate),
// and each of them left null in turn (frozen): the others must be unaffected.
TEST(GemmOps, BackwardAccumulatesAndFrozen) {
  ScopedThreads th(2);
  for (GemmKind kind : kKinds) {
    auto ops = make_gemm_ops(kind);
    for (const Shape& s : kShapes) {
      const int N = s.N, I = s.I, O = s.O;
      auto x = frand((size_t)N * I, 11), w = frand((size_t)O * I, 12), dout = frand((size_t)N * O, 13);
      auto dx0 = frand((size_t)N * I, 14), dw0 = frand((size_t)O * I, 15), db0 = frand(O, 16);
      for (int frozen = 0; frozen < 4; frozen++) {  // 0: none, 1: dinp, 2: dW, 3: dbias
        SCOPED_TRACE(std::string(ops->name()) + " N" + std::to_string(N) + " I" + std::to_string(I) + " O" +
                     std::to_string(O) + " frozen " + std::to_string(frozen));
        auto dx = dx0, dw = dw0, db = db0;
        ops->backward(frozen == 1 ? nullptr : dx.data(), frozen == 2 ? nullptr : dw.data(),
                      frozen == 3 ? nullptr : db.data(), dout.data(), x.data(), w.data(), N, I, O);
        if (frozen == 1)
          EXPECT_TRUE(bit_equal(dx, dx0));
        else
          expect_gemm_close(kind, dx, false, false, N, I, O, 1, dout, O, w, I, 1, dx0, I);
        if (frozen == 2)
          EXPECT_TRUE(bit_equal(dw, dw0));
        else
          expect_gemm_close(kind, dw, true, false, O, I, N, 1, dout, O, x, I, 1, dw0, I);
        // dbias is an fp32 sum over N rows in every kind: gamma_N (sum |dout| + |db0|).
        std::vector<float> ones(N, 1.f);
        if (frozen == 3)
          EXPECT_TRUE(bit_equal(db, db0));
        else
          expect_gemm_close(GemmKind::reference, db, false, false, 1, O, N, 1, ones, N, dout, O, 1, db0, O);
      }
      ops->weights_changed();
    }
  }
}

// General gemm: all four transposes, alpha/beta, leading dims larger than the rows (strided views).
TEST(GemmOps, GemmTransposesStridesAlphaBeta) {
  ScopedThreads th(2);
  const int dims[][3] = {{1, 1, 1}, {1, 40, 17}, {7, 1, 33}, {33, 65, 9}, {64, 64, 64}, {100, 37, 129}};
  for (GemmKind kind : kKinds) {
    auto ops = make_gemm_ops(kind);
    for (auto& d : dims)
      for (int t = 0; t < 4; t++)
        for (auto [alpha, beta] : {std::pair{1.f, 0.f}, {0.125f, 1.f}, {-2.f, 0.5f}}) {
          const int M = d[0], N = d[1], K = d[2];
          const bool ta = t & 1, tb = t & 2;
          const int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 1, ldc = N + 2;
          SCOPED_TRACE(std::string(ops->name()) + " M" + std::to_string(M) + " N" + std::to_string(N) + " K" +
                       std::to_string(K) + " ta" + std::to_string(ta) + " tb" + std::to_string(tb) + " beta" +
                       std::to_string(beta));
          auto A = frand((size_t)(ta ? K : M) * lda, 21), B = frand((size_t)(tb ? N : K) * ldb, 22);
          auto C0 = frand((size_t)M * ldc, 23);
          if (beta == 0) std::fill(C0.begin(), C0.end(), NAN);  // beta 0: C must not be read
          auto C = C0;
          ops->gemm(ta, tb, M, N, K, alpha, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
          expect_gemm_close(kind, C, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C0, ldc);
          for (int m = 0; m < M; m++)  // the padding columns of C are not written
            for (int n = N; n < ldc; n++)
              EXPECT_TRUE(bit_equal(std::vector<float>{C[(size_t)m * ldc + n]}, {C0[(size_t)m * ldc + n]}));
        }
  }
}

// The reference kind is today's kernels, bit for bit.
TEST(GemmOps, ReferenceIsBitIdenticalToKernels) {
  ScopedThreads th(2);
  auto ops = make_gemm_ops(GemmKind::reference);
  for (const Shape& s : kShapes) {
    auto x = frand((size_t)s.N * s.I, 31), w = frand((size_t)s.O * s.I, 32), b = frand(s.O, 33);
    auto dout = frand((size_t)s.N * s.O, 34);
    std::vector<float> o1((size_t)s.N * s.O), o2 = o1, dx1((size_t)s.N * s.I), dx2 = dx1,
                                              dw1((size_t)s.O * s.I), dw2 = dw1, db1(s.O), db2 = db1;
    ops->forward(o1.data(), x.data(), w.data(), b.data(), s.N, s.I, s.O);
    matmul_forward<float>(o2.data(), x.data(), w.data(), b.data(), s.N, s.I, s.O);
    ops->backward(dx1.data(), dw1.data(), db1.data(), dout.data(), x.data(), w.data(), s.N, s.I, s.O);
    matmul_backward<float>(dx2.data(), dw2.data(), db2.data(), dout.data(), x.data(), w.data(), s.N, s.I,
                           s.O);
    EXPECT_TRUE(bit_equal(o1, o2) && bit_equal(dx1, dx2) && bit_equal(dw1, dw2) && bit_equal(db1, db2));
  }
}

// Calls from inside pool tasks (e.g. one attention head per task) run single-threaded and agree.
TEST(GemmOps, CallsFromPoolTasks) {
  ScopedThreads th(2);
  const int H = 8, T = 48, D = 32;
  auto q = frand((size_t)H * T * D, 41), k = frand((size_t)H * T * D, 42);
  for (GemmKind kind : kKinds) {
    auto ops = make_gemm_ops(kind);
    std::vector<float> s((size_t)H * T * T, NAN);
    parallel_blocks(
        H, 1,
        [&](long h0, long h1, int) {
          for (long h = h0; h < h1; h++)
            ops->gemm(false, true, T, T, D, 0.25f, q.data() + h * T * D, D, k.data() + h * T * D, D, 0.f,
                      s.data() + h * T * T, T);
        },
        1e9);
    for (int h = 0; h < H; h++) {
      SCOPED_TRACE(std::string(ops->name()) + " head " + std::to_string(h));
      std::vector<float> qh(q.begin() + h * T * D, q.begin() + (h + 1) * T * D),
          kh(k.begin() + h * T * D, k.begin() + (h + 1) * T * D),
          sh(s.begin() + h * T * T, s.begin() + (h + 1) * T * T);
      expect_gemm_close(kind, sh, false, true, T, T, D, 0.25, qh, D, kh, D, 0, {}, T);
    }
    EXPECT_EQ(omp_get_max_threads(), 2);  // the per-call thread setting is restored
  }
}

// The bf16 weight cache follows a changed weight only after weights_changed (the documented rule).
TEST(GemmOps, Bf16WeightCacheInvalidation) {
  ScopedThreads th(2);
  const int N = 20, I = 24, O = 12;
  auto ops = make_gemm_ops(GemmKind::dnnl_bf16);
  auto x = frand((size_t)N * I, 51), w = frand((size_t)O * I, 52), w2 = frand((size_t)O * I, 53);
  std::vector<float> out((size_t)N * O);
  ops->forward(out.data(), x.data(), w.data(), nullptr, N, I, O);
  expect_gemm_close(GemmKind::dnnl_bf16, out, false, true, N, O, I, 1, x, I, w, I, 0, {}, O);
  std::vector<float> before = out;
  w = w2;  // same storage, new contents
  ops->forward(out.data(), x.data(), w.data(), nullptr, N, I, O);
  EXPECT_TRUE(bit_equal(out, before)) << "without weights_changed the cached copy is used";
  ops->weights_changed(w.data());
  ops->forward(out.data(), x.data(), w.data(), nullptr, N, I, O);
  expect_gemm_close(GemmKind::dnnl_bf16, out, false, true, N, O, I, 1, x, I, w, I, 0, {}, O);
  // backward's dinp reads the cached weight too; weights_changed() with no argument drops everything.
  w = frand((size_t)O * I, 54);
  ops->weights_changed();
  auto dout = frand((size_t)N * O, 55);
  std::vector<float> dx((size_t)N * I, 0.f);
  ops->backward(dx.data(), nullptr, nullptr, dout.data(), x.data(), w.data(), N, I, O);
  expect_gemm_close(GemmKind::dnnl_bf16, dx, false, false, N, I, O, 1, dout, O, w, I, 0, {}, I);
}

// Fixed chunk splits: repeated calls give bit-identical results for a thread count (no atomics, no
// order that depends on which thread ran first).
TEST(GemmOps, DeterministicForThreadCount) {
  ScopedThreads th(2);
  const int N = 300, I = 64, O = 40;
  auto x = frand((size_t)N * I, 61), w = frand((size_t)O * I, 62), d = frand((size_t)N * O, 63);
  for (GemmKind kind : kKinds) {
    auto ops = make_gemm_ops(kind);
    std::vector<float> out[2], dx[2], dw[2];
    for (int r = 0; r < 2; r++) {
      out[r].resize((size_t)N * O), dx[r].assign((size_t)N * I, 0.f), dw[r].assign((size_t)O * I, 0.f);
      ops->forward(out[r].data(), x.data(), w.data(), nullptr, N, I, O);
      ops->backward(dx[r].data(), dw[r].data(), nullptr, d.data(), x.data(), w.data(), N, I, O);
    }
    EXPECT_TRUE(bit_equal(out[0], out[1]) && bit_equal(dx[0], dx[1]) && bit_equal(dw[0], dw[1]))
        << ops->name();
  }
}

// One thread: no chunk splits at all (a single oneDNN call per product), same bounds.
TEST(GemmOps, OneThread) {
  ScopedThreads th(1);
  for (GemmKind kind : kKinds) {
    auto ops = make_gemm_ops(kind);
    for (const Shape& s : {Shape{5, 33, 17}, Shape{300, 64, 40}}) {
      SCOPED_TRACE(std::string(ops->name()) + " N" + std::to_string(s.N));
      const int N = s.N, I = s.I, O = s.O;
      auto x = frand((size_t)N * I, 81), w = frand((size_t)O * I, 82), b = frand(O, 83),
           d = frand((size_t)N * O, 84);
      std::vector<float> out((size_t)N * O), dx((size_t)N * I, 0.f), dw((size_t)O * I, 0.f);
      ops->forward(out.data(), x.data(), w.data(), b.data(), N, I, O);
      expect_gemm_close(kind, out, false, true, N, O, I, 1, x, I, w, I, 0, {}, O, b);
      ops->backward(dx.data(), dw.data(), nullptr, d.data(), x.data(), w.data(), N, I, O);
      expect_gemm_close(kind, dx, false, false, N, I, O, 1, d, O, w, I, 0, {}, I);
      expect_gemm_close(kind, dw, true, false, O, I, N, 1, d, O, x, I, 0, {}, I);
      ops->weights_changed();
    }
  }
}

// The decode kernel's scalar fallback (the path of CPUs without AVX512-BF16) within the bf16 bound.
TEST(GemmOps, Bf16FewRowsScalarPath) {
  for (const Shape& s : kShapes) {
    if (s.N > 16) continue;
    SCOPED_TRACE("N" + std::to_string(s.N) + " I" + std::to_string(s.I) + " O" + std::to_string(s.O));
    auto x = frand((size_t)s.N * s.I, 71), w = frand((size_t)s.O * s.I, 72), b = frand(s.O, 73);
    std::vector<bf16_t> xb(x.size()), wb(w.size());
    f32_to_bf16(xb.data(), x.data(), x.size());
    f32_to_bf16(wb.data(), w.data(), w.size());
    std::vector<float> out((size_t)s.N * s.O);
    bf16_few_rows_forward_scalar(out.data(), xb.data(), wb.data(), b.data(), s.N, s.I, s.O);
    expect_gemm_close(GemmKind::dnnl_bf16, out, false, true, s.N, s.O, s.I, 1, x, s.I, w, s.I, 0, {}, s.O, b);
  }
}

TEST(GemmOps, KindNames) {
  for (GemmKind k : kKinds) EXPECT_EQ(parse_gemm_kind(gemm_kind_name(k)), k);
  EXPECT_THROW(parse_gemm_kind("fp16"), Error);
}

}  // namespace
}  // namespace tsft::kernels_testing
