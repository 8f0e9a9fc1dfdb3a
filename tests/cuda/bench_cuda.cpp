// GPU kernel benchmarks at the LLaMA-3.2-1B training shape (bf16, batch 4 x 2048, packed documents).
// Off unless TSFT_CUDA_BENCH=1 (bench/gpu/run.sh sets it); timings with CUDA events, median of 3 after a
// warm-up. Writes one JSON object to $TSFT_BENCH_OUT/cuda_kernels.json when that variable is set, with a
// projected training step (16 layers x per-layer ops + LM head + AdamW over all 1.24B parameters).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>

#include "harness.hpp"

namespace tsft::cuda::test {
namespace {

double time_ms(cudaStream_t s, const std::function<void()>& f) {
  cudaEvent_t a, b;
  TSFT_CUDA_CHECK(cudaEventCreate(&a));
  TSFT_CUDA_CHECK(cudaEventCreate(&b));
  f();  // warm-up (cuBLASLt heuristics, lazy module loading)
  std::vector<double> t;
  for (int r = 0; r < 3; r++) {
    TSFT_CUDA_CHECK(cudaEventRecord(a, s));
    f();
    TSFT_CUDA_CHECK(cudaEventRecord(b, s));
    TSFT_CUDA_CHECK(cudaEventSynchronize(b));
    float ms = 0;
    TSFT_CUDA_CHECK(cudaEventElapsedTime(&ms, a, b));
    t.push_back(ms);
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  std::sort(t.begin(), t.end());
  return t[1];
}

TEST(CudaBench, Llama1BShapes) {
  TSFT_REQUIRE_GPU();
  const char* on = std::getenv("TSFT_CUDA_BENCH");
  if (!on || std::string(on) != "1") GTEST_SKIP() << "set TSFT_CUDA_BENCH=1 to run the GPU benchmarks";
  cuda_set_sync_debug(false);
  const int B = 4, T = 2048, N = B * T, C = 2048, F = 8192, H = 32, KV = 8, D = 64, V = 128256, L = 16;
  Context ctx;
  cudaStream_t s = ctx.stream();
  std::map<std::string, double> ms;
  auto fill = [&](auto& buf) {  // deterministic small values (NaN-free timings)
    using E = std::remove_pointer_t<decltype(buf.p)>;
    std::vector<E> h(buf.n);
    for (size_t i = 0; i < h.size(); i++) h[i] = to_store<E>(((int)(i * 2654435761u % 2001) - 1000) * 1e-3);
    buf.upload(h);
  };
  Dev<bf16> x((size_t)N * C), y((size_t)N * C), dy((size_t)N * C), dx((size_t)N * C);
  Dev<bf16> wqkv((size_t)(H + 2 * KV) * D * C), wo((size_t)C * C), wg((size_t)F * C), wd((size_t)C * F);
  Dev<bf16> qkv((size_t)N * (H + 2 * KV) * D), g((size_t)N * F), u((size_t)N * F), h((size_t)N * F);
  Dev<float> dw_big((size_t)F * C), rstd(N), nw32(C);
  Dev<bf16> nw(C);
  for (auto* b : {&x, &dy, &wqkv, &wo, &wg, &wd, &g, &u, &nw}) fill(*b);
  const int QKV = (H + 2 * KV) * D;
  auto gemm_pair = [&](const char* name, const bf16* in, const bf16* w, bf16* out, int I, int O) {
    ms[std::string(name) + "_fwd"] = time_ms(s, [&] { matmul_forward<bf16>(ctx, out, in, w, nullptr, N, I, O); });
    ms[std::string(name) + "_bwd"] =
        time_ms(s, [&] { matmul_backward<bf16>(ctx, dx.p, dw_big.p, nullptr, out, in, w, N, I, O, nullptr); });
  };
  // (dinp into an [N, C]-sized buffer is only valid for I == C; the down projection uses h as dinp.)
  gemm_pair("gemm_qkv", x.p, wqkv.p, qkv.p, C, QKV);
  gemm_pair("gemm_o", x.p, wo.p, y.p, C, C);
  gemm_pair("gemm_gate", x.p, wg.p, g.p, C, F);
  gemm_pair("gemm_up", x.p, wg.p, u.p, C, F);
  ms["gemm_down_fwd"] = time_ms(s, [&] { matmul_forward<bf16>(ctx, y.p, h.p, wd.p, nullptr, N, F, C); });
  ms["gemm_down_bwd"] =
      time_ms(s, [&] { matmul_backward<bf16>(ctx, h.p, dw_big.p, nullptr, dy.p, g.p, wd.p, N, F, C, nullptr); });
  ms["rmsnorm_fwd"] = time_ms(s, [&] { rmsnorm_forward<bf16>(y.p, rstd.p, x.p, nw.p, N, C, 1e-5, s); });
  ms["rmsnorm_bwd"] =
      time_ms(s, [&] { rmsnorm_backward<bf16>(dx.p, nw32.p, dy.p, x.p, rstd.p, nw.p, N, C, nullptr, s); });
  ms["swiglu_fwd"] = time_ms(s, [&] { swiglu_forward<bf16>(h.p, g.p, u.p, (size_t)N * F, s); });
  ms["swiglu_bwd"] = time_ms(s, [&] { swiglu_backward<bf16>(g.p, u.p, h.p, g.p, u.p, (size_t)N * F, s); });
  {
    std::vector<float> cs((size_t)T * D / 2, 0.5f);
    std::vector<int32_t> pos(N);
    for (int n = 0; n < N; n++) pos[n] = n % T;
    Dev<float> dc(cs), dsn(cs);
    Dev<int32_t> dp(pos);
    ms["rope_fwd_qk"] = time_ms(s, [&] { rope_forward<bf16>(qkv.p, dp.p, dc.p, dsn.p, N, H + KV, D, s); });
  }
  {
    Dev<bf16> q((size_t)N * H * D), k((size_t)N * KV * D), v((size_t)N * KV * D), o((size_t)N * H * D),
        dq((size_t)N * H * D), dk((size_t)N * KV * D), dv((size_t)N * KV * D);
    for (auto* b : {&q, &k, &v}) fill(*b);
    Dev<float> lse((size_t)B * H * T);
    std::vector<int32_t> doc(N);
    for (int n = 0; n < N; n++) doc[n] = (n % T) / 256;  // 8 documents of 256 tokens per row
    Dev<int32_t> ddoc(doc);
    for (bool packed : {false, true}) {
      const int32_t* dd = packed ? ddoc.p : nullptr;
      std::string tag = packed ? "_packed8" : "_causal";
      ms["attn_fwd" + tag] = time_ms(s, [&] { attention_forward<bf16>(o.p, lse.p, q.p, k.p, v.p, dd, B, T, H, KV, D, s); });
      ms["attn_bwd" + tag] = time_ms(
          s, [&] { attention_backward<bf16>(dq.p, dk.p, dv.p, nullptr, o.p, o.p, lse.p, q.p, k.p, v.p, dd, B, T, H, KV, D, s); });
    }
  }
  {
    Dev<bf16> W((size_t)V * C);
    Dev<float> dW((size_t)V * C);
    fill(W);
    std::vector<int32_t> tg(N);
    for (int n = 0; n < N; n++) tg[n] = (n * 7919) % V;
    Dev<int32_t> dt(tg);
    const int chunk = 1024;
    Dev<char> scratch(lm_head_ce_scratch_bytes(chunk, N, C, V, true));
    ms["lm_head_ce_fwd_bwd"] = time_ms(s, [&] {
      lm_head_ce_forward_backward<bf16>(ctx, dx.p, dW.p, nullptr, scratch.p, chunk, x.p, W.p, dt.p, N, C, V, 1.0 / N);
    });
  }
  {
    const int64_t P = (int64_t)L * (QKV * C + C * C + 3 * (int64_t)F * C + 2 * C) + 2 * (int64_t)V * C + C;
    Dev<float> p(P), gg(P), m(P), vv(P);
    Dev<bf16> low(P);
    std::vector<AdamwTensor> t = {{0, 0, P, 0.0}};
    Dev<AdamwTensor> dt(t);
    Dev<double> nrm(1);
    Dev<float> coef(1);
    int64_t step = 1;
    ms["grad_norm_all"] = time_ms(s, [&] { grad_global_norm(nrm.p, coef.p, gg.p, P, 1.0, nullptr, s); });
    ms["adamw_all"] = time_ms(s, [&] {
      adamw_update(p.p, low.p, gg.p, m.p, vv.p, dt.p, 1, P, 1e-4, 0.9, 0.999, 1e-8, step++, coef.p, s);
    });
    ms["params_billion"] = P / 1e9;
  }
  double layer = 0;
  for (auto& [k, v] : ms)
    if (k.rfind("gemm_", 0) == 0 || k.rfind("swiglu", 0) == 0 || k == "attn_fwd_packed8" || k == "attn_bwd_packed8")
      layer += v;
  layer += 2 * (ms["rmsnorm_fwd"] + ms["rmsnorm_bwd"]) + 2 * ms["rope_fwd_qk"];
  const double step_ms = L * layer + ms["lm_head_ce_fwd_bwd"] + ms["grad_norm_all"] + ms["adamw_all"];
  ms["projected_layer_ms"] = layer;
  ms["projected_step_ms"] = step_ms;
  ms["projected_tokens_per_s"] = N / (step_ms / 1000.0);
  std::string json = "{";
  for (auto& [k, v] : ms) {
    json += (json.size() > 1 ? ", " : "") + ("\"" + k + "\": " + std::to_string(v));
    std::printf("%-28s %10.3f\n", k.c_str(), v);
  }
  json += "}";
  if (const char* out = std::getenv("TSFT_BENCH_OUT")) std::ofstream(std::string(out) + "/cuda_kernels.json") << json << "\n";
}

}  // namespace
}  // namespace tsft::cuda::test
