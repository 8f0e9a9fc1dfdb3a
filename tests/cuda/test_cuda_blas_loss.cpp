// Op harness, part 2: GEMMs (both cuBLAS paths), cross-entropy, the chunked LM head, AdamW, the global
// gradient norm; and the runtime pieces that also run without a device (error messages, memory plans).
// Tolerance model: see test_cuda_ops.cpp.
#include <gtest/gtest.h>

#include <cstring>

#include "core/error.hpp"
#include "harness.hpp"
#include "kernels/cpu/kernels.hpp"

namespace tsft::cuda::test {
namespace {

template <typename T>
class CudaBlasLoss : public ::testing::Test {};
TYPED_TEST_SUITE(CudaBlasLoss, StorageTypes);


// matmul fwd/bwd with bias, odd shapes, a row-offset (misaligned) input view, both GEMM backends.
TYPED_TEST(CudaBlasLoss, Matmul) {
  using T = TypeParam;
  TSFT_REQUIRE_GPU();
  cuda_set_sync_debug(true);
  Context ctx;
  struct Shape {
    int N, I, O, offset;
  };
  for (GemmBackend be : {GemmBackend::lt, GemmBackend::cublas})
    for (Shape sh : {Shape{37, 70, 45, 1}, Shape{256, 512, 384, 0}, Shape{5, 64, 1000, 0}}) {
      ctx.set_gemm_backend(be);
      const int N = sh.N, I = sh.I, O = sh.O;
      SCOPED_TRACE(::testing::Message() << (be == GemmBackend::lt ? "cublasLt" : "cublasGemmEx") << " N " << N
                                        << " I " << I << " O " << O << " offset " << sh.offset);
      std::mt19937 rng(N * 7 + O);
      auto x = random_data<T>((size_t)(N + sh.offset) * I, rng), w = random_data<T>((size_t)O * I, rng),
           b = random_data<T>(O, rng);
      Dev<T> dx(x.store), dw(w.store), db(b.store), dout_((size_t)N * O);
      const T* xin = dx.p + (size_t)sh.offset * I;  // offset rows: a 4- or 2-byte aligned view when I is odd-ish
      matmul_forward<T>(ctx, dout_.p, xin, dw.p, db.p, N, I, O);
      std::vector<double> ref((size_t)N * O);
      tsft::matmul_forward<double>(ref.data(), x.ref.data() + (size_t)sh.offset * I, w.ref.data(), b.ref.data(), N, I, O);
      // K = I products per output, fp32 accumulation (L = I), one rounding to T.
      EXPECT_TRUE(close("matmul out", to_double(dout_.download()), ref, u_store<T>, kC * kU32 * I * max_abs(ref)));

      auto dy = random_data<T>((size_t)N * O, rng);
      auto ix = random_data<T>((size_t)N * I, rng);
      auto iw = random_data<float>((size_t)O * I, rng), ib = random_data<float>(O, rng);
      Dev<T> ddy(dy.store), gx(ix.store);
      Dev<float> gw(iw.store), gb(ib.store);
      matmul_backward<T>(ctx, gx.p, gw.p, gb.p, ddy.p, xin, dw.p, N, I, O, nullptr);
      std::vector<double> rx((size_t)N * I, 0.0), rw((size_t)O * I, 0.0), rb(O, 0.0);
      tsft::matmul_backward<double>(rx.data(), rw.data(), rb.data(), dy.ref.data(), x.ref.data() + (size_t)sh.offset * I,
                              w.ref.data(), N, I, O);
      auto plus = [](const Data<float>& init, const std::vector<double>& inc) {
        std::vector<double> r(inc.size());
        for (size_t i = 0; i < r.size(); i++) r[i] = init.ref[i] + inc[i];
        return r;
      };
      std::vector<double> wx(rx.size());
      for (size_t i = 0; i < wx.size(); i++) wx[i] = ix.ref[i] + rx[i];
      // dinp: L = O terms, stored in T (the += adds the old value: one more rounding).
      EXPECT_TRUE(close("matmul dinp", to_double(gx.download()), wx, u_store<T>, kC * kU32 * O * max_abs(rx) +
                                                                                       u_store<T> * max_abs(wx)));
      // dweight, dbias: fp32 in both modes, L = N terms.
      EXPECT_TRUE(close("matmul dweight", to_double(gw.download()), plus(iw, rw), kU32, kC * kU32 * N * max_abs(rw)));
      EXPECT_TRUE(close("matmul dbias", to_double(gb.download()), plus(ib, rb), kU32, kC * kU32 * N * max_abs(rb)));
    }
}

TEST(CudaLoss, CrossEntropy) {
  TSFT_REQUIRE_GPU();
  cuda_set_sync_debug(true);
  const int N = 45, V = 3001;
  std::mt19937 rng(5);
  auto z = random_data<float>((size_t)N * V, rng, 3.0);
  std::vector<int32_t> y(N);
  for (int n = 0; n < N; n++) y[n] = n % 4 == 1 ? -100 : (int)(rng() % V);
  Dev<float> dz(z.store), dl((size_t)N * V);
  Dev<int32_t> dy(y);
  int64_t nv = 0, rnv = 0;
  const double gs = 1.0 / 33;
  double loss = crossentropy_forward_backward(dl.p, &nv, dz.p, dy.p, N, V, gs, nullptr, nullptr);
  std::vector<double> rd((size_t)N * V);
  double rloss = tsft::crossentropy_forward_backward<double>(rd.data(), &rnv, z.ref.data(), y.data(), N, V, gs);
  EXPECT_EQ(nv, rnv);
  // Per row lse = max + log(sum exp(z - max)): fp32 exp (rel 2 u32 per term), double sum: abs error
  // <= c u32 (1 + max|z|) per row, N rows.
  const double zmax = max_abs(z.ref);
  EXPECT_NEAR(loss, rloss, kC * kU32 * (1 + zmax) * N) << "summed loss";
  // dlogits = (p - onehot) gs with p = exp(z - lse): abs error c u32 (1 + max|z|) gs.
  EXPECT_TRUE(close("dlogits", to_double(dl.download()), rd, kU32, kC * kU32 * (1 + zmax) * gs));
  // In place (dlogits aliases logits).
  double loss2 = crossentropy_forward_backward(dz.p, nullptr, dz.p, dy.p, N, V, gs, nullptr, nullptr);
  EXPECT_EQ(loss2, loss);
  EXPECT_TRUE(close("dlogits in place", to_double(dz.download()), to_double(dl.download()), 0, 0));
  // A target outside the vocabulary (and not -100) names the row.
  y[7] = V;
  dy.upload(y);
  try {
    crossentropy_forward_backward(dl.p, nullptr, dz.p, dy.p, N, V, gs, nullptr, nullptr);
    ADD_FAILURE() << "no error for an out-of-vocabulary target";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("row 7"), std::string::npos) << e.what();
  }
}

TYPED_TEST(CudaBlasLoss, LmHeadChunked) {
  using T = TypeParam;
  TSFT_REQUIRE_GPU();
  cuda_set_sync_debug(true);
  Context ctx;
  const int N = 64, C = 96, V = 1500;
  std::mt19937 rng(6);
  auto x = random_data<T>((size_t)N * C, rng), w = random_data<T>((size_t)V * C, rng, 0.2);
  std::vector<int32_t> y(N);
  for (int n = 0; n < N; n++) y[n] = n % 3 == 0 ? -100 : (int)(rng() % V);  // 42 valid rows
  auto ix = random_data<T>((size_t)N * C, rng);
  auto iw = random_data<float>((size_t)V * C, rng);
  const double gs = 1.0 / 42;
  std::vector<double> rx((size_t)N * C, 0.0), rw((size_t)V * C, 0.0);
  int64_t rnv = 0;
  double rloss = tsft::lm_head_ce_forward_backward<double>(rx.data(), rw.data(), &rnv, nullptr, 16, x.ref.data(),
                                                     w.ref.data(), y.data(), N, C, V, gs);
  for (int chunk : {7, 64}) {  // several chunks with a ragged last one; everything in one chunk
    SCOPED_TRACE(::testing::Message() << "chunk_rows " << chunk);
    Dev<T> dx(x.store), dw(w.store), gx(ix.store);
    Dev<float> gw(iw.store);
    Dev<int32_t> dy(y);
    int64_t nv = 0;
    double loss = lm_head_ce_forward_backward<T>(ctx, gx.p, gw.p, &nv, nullptr, chunk, dx.p, dw.p, dy.p, N, C, V, gs);
    EXPECT_EQ(nv, rnv);
    // logits: C-term fp32 dots (inputs exact in T), then the cross-entropy of CrossEntropy above.
    const double zmax = 4.0 * std::sqrt((double)C) * 0.2;
    EXPECT_NEAR(loss, rloss, kC * kU32 * (C + 1 + zmax) * nv) << "summed loss";
    // dx, dW: GEMMs over V (dx) or valid rows (dW) of dlogits, which are rounded to T in bf16 mode
    // (relative u_T each) before the backward GEMMs.
    std::vector<double> wx(rx.size()), ww(rw.size());
    for (size_t i = 0; i < wx.size(); i++) wx[i] = ix.ref[i] + rx[i];
    for (size_t i = 0; i < ww.size(); i++) ww[i] = iw.ref[i] + rw[i];
    EXPECT_TRUE(close("lm head dx", to_double(gx.download()), wx, u_store<T>,
                      (kC * kU32 * (V + C) + 4 * u_store<T>) * max_abs(rx)));
    EXPECT_TRUE(close("lm head dW", to_double(gw.download()), ww, kU32,
                      (kC * kU32 * (N + C) + 4 * u_store<T>) * max_abs(rw)));
  }
  // Forward only (no gradients requested) gives the same loss.
  Dev<T> dx(x.store), dw(w.store);
  Dev<int32_t> dy(y);
  double lf = lm_head_ce_forward_backward<T>(ctx, nullptr, nullptr, nullptr, nullptr, 10, dx.p, dw.p, dy.p, N, C, V, gs);
  EXPECT_NEAR(lf, rloss, kC * kU32 * (C + 1 + 4.0 * std::sqrt((double)C) * 0.2) * rnv);
}

TEST(CudaOptim, AdamwAndGradNorm) {
  TSFT_REQUIRE_GPU();
  cuda_set_sync_debug(true);
  // Three tensors in a flat parameter buffer; the middle one is frozen (no gradient slot).
  const int64_t n0 = 1000, nf = 300, n2 = 4097;
  const int64_t P = n0 + nf + n2, G = n0 + n2;
  std::mt19937 rng(7);
  auto p = random_data<float>(P, rng), g = random_data<float>(G, rng, 3.0);
  std::vector<AdamwTensor> tensors = {{0, 0, n0, 0.1}, {n0 + nf, n0, n2, 0.0}};
  Dev<float> dp(p.store), dg(g.store), dm(G), dv(G);
  Dev<bf16> dlow(P);
  Dev<AdamwTensor> dt(tensors);
  Dev<double> dnorm(1);
  Dev<float> dcoef(1);
  const double clip = 1.0;
  grad_global_norm(dnorm.p, dcoef.p, dg.p, G, clip, nullptr, nullptr);
  double ss = 0;
  for (double x : g.ref) ss += x * x;
  const double norm = std::sqrt(ss);
  // Exact float squares summed in double: rel error ~ G u64, far below 1e-12.
  EXPECT_NEAR(dnorm.download()[0], norm, 1e-12 * norm);
  const float coef = (float)(clip / (norm + 1e-6));
  EXPECT_EQ(dcoef.download()[0], coef);
  // CPU: clip in place (g *= coef), then adamw_update per tensor; GPU: one launch with the device coef.
  std::vector<float> cp = p.store, cg = g.store, cm(G, 0.f), cv(G, 0.f);
  for (auto& x : cg) x *= coef;
  const double lr = 1e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8;
  for (int64_t step = 1; step <= 3; step++) {
    adamw_update(dp.p, dlow.p, dg.p, dm.p, dv.p, dt.p, 2, n2, lr, b1, b2, eps, step, dcoef.p, nullptr);
    for (auto& t : tensors)
      tsft::adamw_update(cp.data() + t.param_offset, cg.data() + t.grad_offset, cm.data() + t.grad_offset,
                         cv.data() + t.grad_offset, t.n, lr, b1, b2, eps, t.weight_decay, step);
  }
  auto gp = dp.download();
  auto gl = dlow.download();
  // Per step the update is lr m^/(sqrt(v^)+eps), |m^/sqrt(v^)| <= ~3; fp32 evaluation in a different
  // order (FMA contraction) differs by a few ulp of p and of the update: rel 4 u32, abs c u32 lr 3 steps.
  std::vector<double> want(cp.begin(), cp.end()), got(gp.begin(), gp.end());
  EXPECT_TRUE(close("adamw params", got, want, 4 * kU32, kC * kU32 * lr * 3 * 3));
  for (int64_t i = n0; i < n0 + nf; i++) ASSERT_EQ(std::memcmp(&gp[i], &p.store[i], 4), 0) << "frozen param " << i;
  for (const auto& t : tensors)  // the bf16 copy is the rounded master weight
    for (int64_t i = t.param_offset; i < t.param_offset + t.n; i++)
      ASSERT_EQ(__bfloat162float(gl[i]), __bfloat162float(__float2bfloat16_rn(gp[i]))) << "bf16 copy " << i;
}

// ---- runtime (these run without a device too) ----
TEST(CudaRuntime, ErrorNamesCallAndLocation) {
  try {
    TSFT_CUDA_CHECK(cudaSetDevice(1 << 20));
    FAIL() << "cudaSetDevice(1<<20) succeeded";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("cudaSetDevice(1 << 20)"), std::string::npos) << m;
    EXPECT_NE(m.find("test_cuda_blas_loss.cpp:"), std::string::npos) << m;
    EXPECT_NE(m.find("CUDA error cuda"), std::string::npos) << m;
  }
  try {
    TSFT_CUBLAS_CHECK(CUBLAS_STATUS_INVALID_VALUE);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("CUBLAS_STATUS_INVALID_VALUE"), std::string::npos) << e.what();
  }
}

TEST(CudaRuntime, DevicesDescribed) {
  std::string d = cuda_describe_devices();
  std::printf("%s", d.c_str());
  if (cuda_device_count() == 0) EXPECT_NE(d.find("no CUDA device"), std::string::npos) << d;
  else EXPECT_NE(d.find("cuda:0"), std::string::npos) << d;
}

TEST(CudaRuntime, ArenaPlan) {
  ArenaPlan plan;
  plan.add("weights", 1000);
  plan.add_n<float>("grads", 10);
  EXPECT_EQ(plan.total(), 4 * kArenaAlign + kArenaAlign);  // 1000 -> 1024, 40 -> 256
  EXPECT_NE(plan.describe().find("weights"), std::string::npos);
  TSFT_REQUIRE_GPU();
  {
    DeviceArena arena(plan, 0);
    float* a = arena.alloc<float>("weights", 250);
    float* b = arena.alloc<float>("grads", 10);
    EXPECT_EQ((char*)b - (char*)a, 1024);
    EXPECT_EQ((uintptr_t)b % kArenaAlign, 0u);
    try {
      arena.alloc<float>("unplanned activations", 1);
      FAIL() << "allocation beyond the plan";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("unplanned activations"), std::string::npos) << e.what();
    }
  }
  ArenaPlan huge;
  huge.add("activations", size_t(1) << 50);
  try {
    DeviceArena arena(huge, 0);
    FAIL() << "a 1 PiB plan fitted";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("does not fit"), std::string::npos) << m;
    EXPECT_NE(m.find("activations"), std::string::npos) << m;
    EXPECT_NE(m.find("free"), std::string::npos) << m;
  }
}

}  // namespace
}  // namespace tsft::cuda::test
