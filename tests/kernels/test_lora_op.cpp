// The LoRA op (model/lora.hpp) against central finite differences in double (harness and tolerance:
// kernel_test_util.hpp): x, A and B are all perturbed; with dropout the mask is a fixed function of
// (seed, stream, index), so the op stays differentiable and the backward must regenerate the same mask.
#include "kernel_test_util.hpp"
#include "kernels/cpu/blas.hpp"
#include "model/lora.hpp"

namespace tsft::kernels_testing {
namespace {

auto dgemm = [](bool ta, bool tb, int M, int N, int K, double alpha, const double* A, int lda,
                const double* B, int ldb, double beta, double* C,
                int ldc) { gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc); };

// out = base + s dropout(x) A^T B^T (base: a fixed random "x W^T" the op adds to)
void check_lora(int N, int I, int O, int r, double s, double p, uint64_t seed) {
  auto x = randn((size_t)N * I, seed), A = randn((size_t)r * I, seed + 1), B = randn((size_t)O * r, seed + 2);
  auto base = randn((size_t)N * O, seed + 3);
  std::vector<double> u((size_t)N * r), xd((size_t)N * I);
  const uint64_t dseed = seed + 4, stream = 5;
  auto fwd = [&] {
    std::vector<double> out = base;
    const double* in = x.data();
    if (p > 0) {
      lora_dropout_forward(xd.data(), x.data(), xd.size(), p, dseed, stream);
      in = xd.data();
    }
    lora_forward<double>(out.data(), u.data(), in, A.data(), B.data(), N, I, O, r, s, dgemm);
    return out;
  };
  auto bwd = [&](const std::vector<double>& dout, std::vector<std::vector<double>>& g) {
    std::vector<double> du((size_t)N * r), dxd((size_t)N * I, 0.0);
    const double* in = p > 0 ? xd.data() : x.data();
    lora_backward<double>(p > 0 ? dxd.data() : g[0].data(), g[1].data(), g[2].data(), du.data(), dout.data(),
                          in, u.data(), A.data(), B.data(), N, I, O, r, s, dgemm);
    if (p > 0) lora_dropout_backward(g[0].data(), dxd.data(), dxd.size(), p, dseed, stream);
  };
  EXPECT_GRAD_OK(grad_check({{"x", &x}, {"A", &A}, {"B", &B}}, fwd, bwd, seed + 5));
}

TEST(GradCheck, LoraNoDropout) {
  check_lora(7, 12, 9, 3, 2.0, 0.0, 300);
}
TEST(GradCheck, LoraRank1RsScale) {
  check_lora(5, 8, 11, 1, 8.0 / std::sqrt(1.0), 0.0, 310);
}
TEST(GradCheck, LoraDropout) {
  check_lora(6, 10, 7, 4, 0.5, 0.3, 320);
}

// The mask: drop rate close to p, identical on regeneration, different per stream.
TEST(LoraDropout, MaskRateAndDeterminism) {
  const size_t n = 200000;
  size_t kept = 0, same = 0;
  for (size_t i = 0; i < n; i++) {
    bool k = lora_dropout_keep(7, 3, i, 0.25);
    kept += k;
    same += k == lora_dropout_keep(7, 4, i, 0.25);
    ASSERT_EQ(k, lora_dropout_keep(7, 3, i, 0.25));
  }
  // binomial: sd of the kept fraction = sqrt(.25 * .75 / n) = 9.7e-4; 5 sd
  EXPECT_NEAR((double)kept / n, 0.75, 5e-3);
  // two streams agree on a fraction .75^2 + .25^2 = .625 of elements when independent
  EXPECT_NEAR((double)same / n, 0.625, 5e-3);
}

}  // namespace
}  // namespace tsft::kernels_testing
