// Every kernel's backward against central finite differences in double (harness and tolerance
// derivation: kernel_test_util.hpp). Inputs AND parameters are all perturbed.
#include "kernel_test_util.hpp"
#include "model/rope.hpp"

namespace tsft::kernels_testing {
namespace {

// ---- matmul ----
void check_matmul(int N, int I, int O, bool with_bias, uint64_t seed) {
  auto x = randn((size_t)N * I, seed), w = randn((size_t)O * I, seed + 1), b = randn(O, seed + 2);
  std::vector<GradInput> in = {{"inp", &x}, {"weight", &w}};
  if (with_bias) in.push_back({"bias", &b});
  auto fwd = [&] {
    std::vector<double> out((size_t)N * O);
    matmul_forward<double>(out.data(), x.data(), w.data(), with_bias ? b.data() : nullptr, N, I, O);
    return out;
  };
  auto bwd = [&](const std::vector<double>& dout, std::vector<std::vector<double>>& g) {
    matmul_backward<double>(g[0].data(), g[1].data(), with_bias ? g[2].data() : nullptr, dout.data(),
                            x.data(), w.data(), N, I, O);
  };
  EXPECT_GRAD_OK(grad_check(in, fwd, bwd, seed + 3));
}

// With 2 threads: N < 4*2 rows takes the "few rows" forward path (work split over output features),
// N >= 8 the row-split path. These sizes are below the kernels' parallel work threshold, so the split
// itself runs in one block here; test_thread_split.cpp runs both paths threaded at large sizes.
TEST(GradCheck, MatmulFewRowsNoBias) {
  ScopedThreads th(2);
  ASSERT_EQ(kernels_num_threads(), 2);
  check_matmul(3, 5, 70, false, 100);
}
TEST(GradCheck, MatmulFewRowsBias) {
  ScopedThreads th(2);
  check_matmul(3, 5, 70, true, 110);
}
TEST(GradCheck, MatmulManyRowsNoBias) {
  ScopedThreads th(2);
  check_matmul(13, 6, 20, false, 120);
}
TEST(GradCheck, MatmulManyRowsBias) {
  ScopedThreads th(2);
  check_matmul(13, 6, 20, true, 130);
}
TEST(GradCheck, MatmulSingleThread) {
  ScopedThreads th(1);
  check_matmul(5, 4, 9, true, 140);
}

// ---- embedding (repeated ids; C = 40 > 16 so the column split across threads engages) ----
TEST(GradCheck, EmbeddingRepeatedIds) {
  ScopedThreads th(2);
  const int N = 9, C = 40, V = 7;
  std::vector<int32_t> ids = {3, 1, 3, 0, 6, 3, 1, 2, 3};  // id 3 four times, id 1 twice, 4 and 5 unused
  auto table = randn((size_t)V * C, 200);
  auto fwd = [&] {
    std::vector<double> out((size_t)N * C);
    embedding_forward<double>(out.data(), ids.data(), table.data(), N, C, V);
    return out;
  };
  auto bwd = [&](const std::vector<double>& dout, std::vector<std::vector<double>>& g) {
    embedding_backward<double>(g[0].data(), dout.data(), ids.data(), N, C);
  };
  EXPECT_GRAD_OK(grad_check({{"table", &table}}, fwd, bwd, 201));
}

// ---- RMSNorm ----
void check_rmsnorm(int rows, int C, double eps, uint64_t seed) {
  auto x = randn((size_t)rows * C, seed);
  auto w = randn(C, seed + 1, 0.3);
  for (auto& v : w) v += 1.0;
  std::vector<double> rstd(rows);
  auto fwd = [&] {
    std::vector<double> out((size_t)rows * C);
    rmsnorm_forward<double>(out.data(), rstd.data(), x.data(), w.data(), rows, C, eps);
    return out;
  };
  auto bwd = [&](const std::vector<double>& dout, std::vector<std::vector<double>>& g) {
    rmsnorm_backward<double>(g[0].data(), g[1].data(), dout.data(), x.data(), rstd.data(), w.data(), rows, C);
  };
  EXPECT_GRAD_OK(grad_check({{"inp", &x}, {"weight", &w}}, fwd, bwd, seed + 2));
}
TEST(GradCheck, RmsnormHidden) {
  ScopedThreads th(2);
  check_rmsnorm(10, 16, 1e-5, 300);
}
// Per-head (qwen3 q_norm/k_norm): rows = N*H, C = D.
TEST(GradCheck, RmsnormPerHead) {
  ScopedThreads th(2);
  const int N = 6, H = 4, D = 8;
  check_rmsnorm(N * H, D, 1e-6, 310);
}

// ---- RoPE ----
void check_rope(const RopeConfig& cfg, uint64_t seed) {
  const int N = 6, nh = 3, D = 16, max_pos = 4096;
  std::vector<int32_t> pos = {0, 1, 7, 100, 2047, 4095};
  std::vector<double> inv(D / 2), cs((size_t)max_pos * D / 2), sn((size_t)max_pos * D / 2);
  rope_inv_freq(inv.data(), D, cfg);
  rope_tables<double>(cs.data(), sn.data(), inv.data(), max_pos, D);
  auto x = randn((size_t)N * nh * D, seed);
  auto fwd = [&] {
    std::vector<double> y = x;
    rope_forward<double>(y.data(), pos.data(), cs.data(), sn.data(), N, nh, D);
    return y;
  };
  auto bwd = [&](const std::vector<double>& dout, std::vector<std::vector<double>>& g) {
    std::vector<double> d = dout;  // rope_backward is in place
    rope_backward<double>(d.data(), pos.data(), cs.data(), sn.data(), N, nh, D);
    for (size_t i = 0; i < d.size(); i++) g[0][i] += d[i];
  };
  EXPECT_GRAD_OK(grad_check({{"x", &x}}, fwd, bwd, seed + 1));
}
TEST(GradCheck, RopeStandard) {
  ScopedThreads th(2);
  check_rope(RopeConfig{}, 400);
}
TEST(GradCheck, RopeLlama3) {
  ScopedThreads th(2);
  RopeConfig cfg;
  cfg.type = RopeType::llama3;
  cfg.theta = 500000.0;
  cfg.factor = 8.0;
  cfg.low_freq_factor = 1.0;
  cfg.high_freq_factor = 4.0;
  cfg.original_max_position = 8192;
  check_rope(cfg, 410);
}

// ---- attention: B=2, T=5, H=4, KV=2, D=8 ----
void check_attention(const std::vector<int32_t>* doc, bool own_scratch, uint64_t seed) {
  const int B = 2, T = 5, H = 4, KV = 2, D = 8, N = B * T;
  auto q = randn((size_t)N * H * D, seed), k = randn((size_t)N * KV * D, seed + 1),
       v = randn((size_t)N * KV * D, seed + 2);
  std::vector<double> probs((size_t)B * H * T * T), scratch((size_t)B * H * T * T);
  const int32_t* d = doc ? doc->data() : nullptr;
  auto fwd = [&] {
    std::vector<double> out((size_t)N * H * D);
    attention_forward<double>(out.data(), probs.data(), q.data(), k.data(), v.data(), d, B, T, H, KV, D);
    return out;
  };
  auto bwd = [&](const std::vector<double>& dout, std::vector<std::vector<double>>& g) {
    attention_backward<double>(g[0].data(), g[1].data(), g[2].data(), own_scratch ? scratch.data() : nullptr,
                               dout.data(), probs.data(), q.data(), k.data(), v.data(), d, B, T, H, KV, D);
  };
  EXPECT_GRAD_OK(grad_check({{"q", &q}, {"k", &k}, {"v", &v}}, fwd, bwd, seed + 3));
}
// Row 0 packs 2 documents, row 1 packs 3 (ids need only be equal within a document).
const std::vector<int32_t> kPackedDocs = {0, 0, 1, 1, 1, /*row 1*/ 7, 8, 8, 9, 9};

TEST(GradCheck, AttentionPackedDocs) {
  ScopedThreads th(2);
  check_attention(&kPackedDocs, false, 500);
}
TEST(GradCheck, AttentionPackedDocsCallerScratch) {
  ScopedThreads th(2);
  check_attention(&kPackedDocs, true, 510);
}
TEST(GradCheck, AttentionNoDocIds) {
  ScopedThreads th(2);
  check_attention(nullptr, false, 520);
}

// ---- SwiGLU (gate spread over [-9, 9] to reach the saturated ends of the sigmoid) ----
void swiglu_check(uint64_t seed, double dgate_factor, GradCheckResult* res) {
  const size_t n = 64;
  auto gate = randn(n, seed, 3.0), up = randn(n, seed + 1);
  auto fwd = [&] {
    std::vector<double> out(n);
    swiglu_forward<double>(out.data(), gate.data(), up.data(), n);
    return out;
  };
  auto bwd = [&](const std::vector<double>& dout, std::vector<std::vector<double>>& g) {
    swiglu_backward<double>(g[0].data(), g[1].data(), dout.data(), gate.data(), up.data(), n);
    for (auto& x : g[0]) x *= dgate_factor;
  };
  *res = grad_check({{"gate", &gate}, {"up", &up}}, fwd, bwd, seed + 2);
}
TEST(GradCheck, Swiglu) {
  GradCheckResult r;
  swiglu_check(600, 1.0, &r);
  EXPECT_GRAD_OK(r);
}
// The checker itself must reject a backward that is off by 0.1% (guards against a vacuous harness).
TEST(GradCheck, DetectsWrongGradient) {
  GradCheckResult r;
  swiglu_check(600, 1.001, &r);
  EXPECT_GT(r.max_err, kGradRtol * 10);
}

// ---- cross-entropy: loss = sum over valid rows; upstream gradient dL/dloss goes in as grad_scale ----
TEST(GradCheck, CrossEntropyWithIgnored) {
  ScopedThreads th(2);
  const int N = 9, V = 11;
  auto logits = randn((size_t)N * V, 700, 2.0);
  std::vector<int32_t> targets = {3, -100, 0, 10, 5, -100, 5, 1, 7};
  auto fwd = [&] {
    int64_t nv = 0;
    return std::vector<double>{
        crossentropy_forward_backward<double>(nullptr, &nv, logits.data(), targets.data(), N, V, 1.0)};
  };
  auto bwd = [&](const std::vector<double>& dout, std::vector<std::vector<double>>& g) {
    std::vector<double> dl((size_t)N * V, 123.0);  // overwritten by the kernel
    crossentropy_forward_backward<double>(dl.data(), nullptr, logits.data(), targets.data(), N, V, dout[0]);
    for (size_t i = 0; i < dl.size(); i++) g[0][i] += dl[i];
  };
  EXPECT_GRAD_OK(grad_check({{"logits", &logits}}, fwd, bwd, 701));
}

// ---- fused LM head + cross-entropy: 7 valid rows in chunks of 2 -> 4 chunks, 2 ignored rows ----
TEST(GradCheck, LmHeadCrossEntropyChunked) {
  ScopedThreads th(2);
  const int N = 9, C = 6, V = 13, chunk = 2;
  auto x = randn((size_t)N * C, 800), W = randn((size_t)V * C, 801, 0.7);
  std::vector<int32_t> targets = {4, 12, -100, 0, 7, 7, -100, 3, 9};
  auto fwd = [&] {
    int64_t nv = 0;
    return std::vector<double>{lm_head_ce_forward_backward<double>(
        nullptr, nullptr, &nv, nullptr, chunk, x.data(), W.data(), targets.data(), N, C, V, 1.0)};
  };
  auto bwd = [&](const std::vector<double>& dout, std::vector<std::vector<double>>& g) {
    std::vector<double> scratch(lm_head_ce_scratch_size(chunk, C, V, true));
    int64_t nv = 0;
    lm_head_ce_forward_backward<double>(g[0].data(), g[1].data(), &nv, scratch.data(), chunk, x.data(),
                                        W.data(), targets.data(), N, C, V, dout[0]);
    EXPECT_EQ(nv, 7);
  };
  EXPECT_GRAD_OK(grad_check({{"x", &x}, {"W", &W}}, fwd, bwd, 802));
}

}  // namespace
}  // namespace tsft::kernels_testing
