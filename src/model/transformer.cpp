#include "model/transformer.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>

#include "core/error.hpp"
#include "kernels/cpu/blas.hpp"
#include "kernels/cpu/kernels.hpp"
#include "model/lora.hpp"

namespace tsft {

namespace {
struct Planner {  // lays out float buffers in one arena; first pass counts, second assigns
  float* base = nullptr;
  size_t used = 0;
  float* take(size_t n) {
    float* p = base ? base + used : nullptr;
    used += (n + 15) & ~size_t(15);  // 64-byte alignment of every buffer
    return p;
  }
};

void plan(Activations& a, const ModelConfig& c, Planner& p) {
  const size_t N = (size_t)a.B_max * a.T_max, C = c.C, F = c.F, HD = (size_t)c.H * c.D,
               KD = (size_t)c.KV * c.D, TT = (size_t)a.B_max * c.H * a.T_max * a.T_max;
  const int L = c.L;
  a.x.assign(L + 1, nullptr);
  for (auto* v : {&a.ln1, &a.ln1_rstd, &a.qpre, &a.q_rstd, &a.kpre, &a.k_rstd, &a.q, &a.k, &a.v, &a.probs,
                  &a.att, &a.xmid, &a.ln2, &a.ln2_rstd, &a.gate, &a.up, &a.h})
    v->assign(L, nullptr);
  // Inference keeps nothing for a backward pass: every layer reuses layer 0's buffers and the
  // residual stream alternates between two buffers.
  const int Lkeep = a.training ? L : std::min(L, 1);
  for (int l = 0; l <= L; l++) a.x[l] = (a.training || l < 2) ? p.take(N * C) : a.x[l % 2];
  for (int l = 0; l < L; l++) {
    if (l >= Lkeep) {
      for (auto* v : {&a.ln1, &a.ln1_rstd, &a.qpre, &a.q_rstd, &a.kpre, &a.k_rstd, &a.q, &a.k, &a.v, &a.probs,
                      &a.att, &a.xmid, &a.ln2, &a.ln2_rstd, &a.gate, &a.up, &a.h})
        (*v)[l] = (*v)[0];
      continue;
    }
    a.ln1[l] = p.take(N * C);
    a.ln1_rstd[l] = p.take(N);
    if (c.qk_norm) {
      a.qpre[l] = p.take(N * HD);
      a.q_rstd[l] = p.take(N * c.H);
      a.kpre[l] = p.take(N * KD);
      a.k_rstd[l] = p.take(N * c.KV);
    }
    a.q[l] = p.take(N * HD);
    a.k[l] = p.take(N * KD);
    a.v[l] = p.take(N * KD);
    a.probs[l] = p.take(TT);
    a.att[l] = p.take(N * HD);
    a.xmid[l] = p.take(N * C);
    a.ln2[l] = p.take(N * C);
    a.ln2_rstd[l] = p.take(N);
    a.gate[l] = p.take(N * F);
    a.up[l] = p.take(N * F);
    a.h[l] = p.take(N * F);
  }
  a.lora_u.assign((size_t)L * lora_num_proj, nullptr);
  if (c.lora.r > 0) {
    const size_t r = c.lora.r;
    for (int l = 0; l < L; l++)
      for (int j = 0; j < lora_num_proj; j++)
        a.lora_u[l * lora_num_proj + j] = l < Lkeep ? p.take(N * r) : a.lora_u[j];
    if (a.training) {
      a.lora_du = p.take(N * r);
      if (c.lora.dropout > 0) {
        const size_t I = std::max({C, F, HD});
        a.lora_xd = p.take(N * I);
        a.lora_dxd = p.take(N * I);
      }
    }
  }
  a.lnf = p.take(N * C);
  a.lnf_rstd = p.take(N);
  a.tmp = p.take(N * C);
  if (a.training) {
    a.dres = p.take(N * C);
    a.dln = p.take(N * C);
    a.dq = p.take(N * HD);
    a.dk = p.take(N * KD);
    a.dv = p.take(N * KD);
    a.datt = p.take(N * HD);
    if (c.qk_norm) a.dkpre = p.take(N * KD);
    a.dgate = p.take(N * F);
    a.dup = p.take(N * F);
    a.dh = p.take(N * F);
    a.dlnf = p.take(N * C);
    a.attn_scratch = p.take((size_t)kernels_num_threads() * a.T_max * a.T_max);
    a.head_scratch = p.take(lm_head_ce_scratch_size(a.head_chunk, c.C, c.V, true));
  }
}

// Backward buffers are zeroed on the pool (a serial memset of N x F floats leaves the other threads idle).
void zero(float* p, size_t n) {
  parallel_blocks((long)n, 1 << 14,
                  [&](long i0, long i1, int) { std::memset(p + i0, 0, (i1 - i0) * sizeof(float)); }, 0.25);
}

// Rows per LM-head chunk: at least the requested head_chunk, raised while the logits chunk stays
// within kHeadLogitsFloats (4 MiB), since small chunks make the head's matmuls short and thread-bound
// (each chunk's dW is a reduction over its rows, split across threads).
constexpr size_t kHeadLogitsFloats = size_t(1) << 20;
int head_chunk_rows(const ModelConfig& c, int B, int T, int head_chunk) {
  const size_t N = (size_t)B * T;
  size_t rows = std::max<size_t>((size_t)head_chunk, std::min(N, kHeadLogitsFloats / (size_t)c.V));
  return (int)std::max<size_t>(1, rows);
}

OpProfile* g_profile = nullptr;
double process_cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
struct OpTimer {
  const char* name;
  std::chrono::steady_clock::time_point t0{};
  double c0 = 0;
  explicit OpTimer(const char* n) : name(n) {
    if (g_profile) {
      c0 = process_cpu_seconds();
      t0 = std::chrono::steady_clock::now();
    }
  }
  ~OpTimer() {
    if (g_profile)
      g_profile->add(name, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
                     process_cpu_seconds() - c0);
  }
};
// OP("name", statements): statements timed under "name" when a profile is installed.
#define OP(name, ...)    \
  do {                   \
    OpTimer op_t_(name); \
    __VA_ARGS__;         \
  } while (0)
}  // namespace

void OpProfile::add(const char* name, double wall, double cpu) {
  for (size_t i = 0; i < names.size(); i++)
    if (names[i] == name) {
      secs[i] += wall;
      cpu_secs[i] += cpu;
      return;
    }
  names.push_back(name);
  secs.push_back(wall);
  cpu_secs.push_back(cpu);
}
void model_set_profile(OpProfile* p) {
  g_profile = p;
}

void StepOps::linear_forward(float* out, const float* inp, const float* w, const float* b, int N, int I,
                             int O) const {
  matmul_forward(out, inp, w, b, N, I, O);
}
void StepOps::linear_backward(float* dinp, float* dw, float* db, const float* dout, const float* inp,
                              const float* w, int N, int I, int O) const {
  matmul_backward(dinp, dw, db, dout, inp, w, N, I, O);
}
void StepOps::attention_forward(float* out, float* probs, const float* q, const float* k, const float* v,
                                const int32_t* doc, int B, int T, int H, int KV, int D) const {
  tsft::attention_forward(out, probs, q, k, v, doc, B, T, H, KV, D);
}
void StepOps::attention_backward(float* dq, float* dk, float* dv, float* scratch, const float* dout,
                                 const float* probs, const float* q, const float* k, const float* v,
                                 const int32_t* doc, int B, int T, int H, int KV, int D) const {
  tsft::attention_backward(dq, dk, dv, scratch, dout, probs, q, k, v, doc, B, T, H, KV, D);
}
void StepOps::gemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda,
                   const float* B, int ldb, float beta, float* C, int ldc) const {
  tsft::gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
double StepOps::head_ce(float* dx, float* dW, int64_t* n_valid, float* scratch, int chunk_rows,
                        const float* x, const float* W, const int32_t* targets, int N, int C, int V,
                        double grad_scale) const {
  return lm_head_ce_forward_backward(dx, dW, n_valid, scratch, chunk_rows, x, W, targets, N, C, V,
                                     grad_scale);
}
const StepOps& step_ops_reference() {
  static const StepOps ops;
  return ops;
}

size_t activations_bytes(const ModelConfig& c, int B, int T, bool training, int head_chunk) {
  Activations a;
  a.B_max = B;
  a.T_max = T;
  a.training = training;
  a.head_chunk = head_chunk_rows(c, B, T, head_chunk);
  Planner p;
  plan(a, c, p);
  return p.used * sizeof(float);
}

Activations activations_create(const ModelConfig& c, int B, int T, bool training, int head_chunk) {
  TSFT_CHECK(B > 0 && T > 0, "activations: batch {} x {} tokens must be positive", B, T);
  Activations a;
  a.B_max = B;
  a.T_max = T;
  a.training = training;
  a.head_chunk = head_chunk_rows(c, B, T, head_chunk);
  Planner count;
  plan(a, c, count);
  a.mem.assign(count.used, 0.f);
  Planner fill;
  fill.base = a.mem.data();
  plan(a, c, fill);
  return a;
}

KVCache kv_cache_create(const ModelConfig& c, int slots, int max_positions) {
  TSFT_CHECK(slots > 0 && max_positions > 0 && max_positions <= c.max_position,
             "KV cache: {} slots x {} positions (max_position_embeddings {})", slots, max_positions,
             c.max_position);
  KVCache kv;
  kv.L = c.L;
  kv.S = slots;
  kv.P = max_positions;
  kv.KVD = c.KV * c.D;
  kv.k.assign((size_t)c.L * slots * max_positions * kv.KVD, 0.f);
  kv.v.assign(kv.k.size(), 0.f);
  return kv;
}

int64_t count_valid_targets(const int32_t* targets, size_t n) {
  int64_t k = 0;
  for (size_t i = 0; i < n; i++) k += targets[i] != -100;
  return k;
}

ForwardResult model_forward(Model& m, Activations& a, const Batch& b, float* logits, bool backward_head,
                            double grad_scale, const StepOps* ops) {
  const ModelConfig& c = m.cfg;
  const StepOps& G = ops ? *ops : step_ops_reference();
  const int B = b.B, T = b.T, N = B * T, C = c.C, F = c.F, H = c.H, KV = c.KV, D = c.D, HD = H * D,
            KD = KV * D;
  TSFT_CHECK(B <= a.B_max && T <= a.T_max && (size_t)N <= (size_t)a.B_max * a.T_max,
             "batch {} x {} exceeds the planned activations {} x {}", B, T, a.B_max, a.T_max);
  TSFT_CHECK(!backward_head || a.training, "backward requested on inference activations");
  TSFT_CHECK(!backward_head || !m.grads.empty(),
             "backward requested on a model without gradient memory "
             "(inference load; call set_trainable first)");
  TSFT_CHECK(b.pos, "model_forward: positions are required");
  TSFT_CHECK(!b.cache || (b.slot && !backward_head), "model_forward: a KV cache needs slots, no backward");
  for (int n = 0; n < N; n++)
    TSFT_CHECK(b.pos[n] >= 0 && b.pos[n] < (b.cache ? b.cache->P : c.max_position),
               "position {} of token {} is outside [0, {}) (max_position_embeddings or KV-cache length)",
               b.pos[n], n, b.cache ? b.cache->P : c.max_position);
  if (b.cache)
    for (int i = 0; i < B; i++)
      TSFT_CHECK(b.slot[i] >= 0 && b.slot[i] < b.cache->S, "KV-cache slot {} of row {} outside [0, {})",
                 b.slot[i], i, b.cache->S);
  const float* cs = m.rope_cos.data();
  const float* sn = m.rope_sin.data();
  // the LoRA term of projection p of layer l (no-op without an adapter there); dropout in training steps
  const bool drop = backward_head && c.lora.dropout > 0;
  auto lora_f = [&](int l, int p, float* out, const float* inp, int I, int O) {
    OP("f.lora", lora_proj_forward(G, m, a, b.dropout_seed, drop, l, p, out, inp, N, I, O));
  };

  OP("f.embed", embedding_forward(a.x[0], b.ids, m.w.embed, N, C, c.V));
  if (c.L == 0) rmsnorm_forward(a.lnf, a.lnf_rstd, a.x[0], m.w.norm, N, C, c.rms_norm_eps);
  for (int l = 0; l < c.L; l++) {
    const LayerParams& w = m.w.layers[l];
    // ln1 of layer l > 0 was formed by the previous layer's fused residual add
    if (l == 0) OP("f.rms1", rmsnorm_forward(a.ln1[l], a.ln1_rstd[l], a.x[l], w.ln1, N, C, c.rms_norm_eps));
    if (c.qk_norm) {
      OP("f.qkv", G.linear_forward(a.qpre[l], a.ln1[l], w.wq, w.bq, N, C, HD));
      lora_f(l, lora_q, a.qpre[l], a.ln1[l], C, HD);
      OP("f.qkv", G.linear_forward(a.kpre[l], a.ln1[l], w.wk, w.bk, N, C, KD));
      lora_f(l, lora_k, a.kpre[l], a.ln1[l], C, KD);
      OP("f.qknorm", rmsnorm_forward(a.q[l], a.q_rstd[l], a.qpre[l], w.q_norm, N * H, D, c.rms_norm_eps));
      OP("f.qknorm", rmsnorm_forward(a.k[l], a.k_rstd[l], a.kpre[l], w.k_norm, N * KV, D, c.rms_norm_eps));
    } else {
      OP("f.qkv", G.linear_forward(a.q[l], a.ln1[l], w.wq, w.bq, N, C, HD));
      lora_f(l, lora_q, a.q[l], a.ln1[l], C, HD);
      OP("f.qkv", G.linear_forward(a.k[l], a.ln1[l], w.wk, w.bk, N, C, KD));
      lora_f(l, lora_k, a.k[l], a.ln1[l], C, KD);
    }
    OP("f.qkv", G.linear_forward(a.v[l], a.ln1[l], w.wv, w.bv, N, C, KD));
    lora_f(l, lora_v, a.v[l], a.ln1[l], C, KD);
    OP("f.rope", rope_forward(a.q[l], b.pos, cs, sn, N, H, D));
    OP("f.rope", rope_forward(a.k[l], b.pos, cs, sn, N, KV, D));
    if (b.cache) {
      kv_cache_store(b.cache->k_layer(l), b.cache->v_layer(l), a.k[l], a.v[l], b.slot, b.pos, B, T, KD,
                     b.cache->P);
      attention_cached_forward(a.att[l], a.q[l], b.cache->k_layer(l), b.cache->v_layer(l), b.slot, b.pos, B,
                               T, H, KV, D, b.cache->P);
    } else {
      OP("f.attn", G.attention_forward(a.att[l], a.probs[l], a.q[l], a.k[l], a.v[l], b.doc, B, T, H, KV, D));
    }
    OP("f.wo", G.linear_forward(a.tmp, a.att[l], w.wo, w.bo, N, HD, C));
    lora_f(l, lora_o, a.tmp, a.att[l], HD, C);
    // xmid = x + tmp ; ln2 = rmsnorm(xmid)
    OP("f.add_rms2", residual_rmsnorm_forward(a.xmid[l], a.ln2[l], a.ln2_rstd[l], a.x[l], a.tmp, w.ln2, N, C,
                                              c.rms_norm_eps));
    OP("f.gate_up", G.linear_forward(a.gate[l], a.ln2[l], w.wg, w.bg, N, C, F));
    lora_f(l, lora_gate, a.gate[l], a.ln2[l], C, F);
    OP("f.gate_up", G.linear_forward(a.up[l], a.ln2[l], w.wu, w.bu, N, C, F));
    lora_f(l, lora_up, a.up[l], a.ln2[l], C, F);
    OP("f.swiglu", swiglu_forward(a.h[l], a.gate[l], a.up[l], (size_t)N * F));
    OP("f.wd", G.linear_forward(a.tmp, a.h[l], w.wd, w.bd, N, F, C));
    lora_f(l, lora_down, a.tmp, a.h[l], F, C);
    // x[l+1] = xmid + tmp, then the next layer's ln1 (or the final norm) of it
    if (l + 1 < c.L)
      OP("f.add_rms1", residual_rmsnorm_forward(a.x[l + 1], a.ln1[l + 1], a.ln1_rstd[l + 1], a.xmid[l], a.tmp,
                                                m.w.layers[l + 1].ln1, N, C, c.rms_norm_eps));
    else
      OP("f.add_rmsf", residual_rmsnorm_forward(a.x[l + 1], a.lnf, a.lnf_rstd, a.xmid[l], a.tmp, m.w.norm, N,
                                                C, c.rms_norm_eps));
  }

  ForwardResult r;
  if (logits) G.linear_forward(logits, a.lnf, m.w.lm_head, nullptr, N, C, c.V);
  if (b.targets) {
    OP("head", if (backward_head) zero(a.dlnf, (size_t)N * C));
    OP("head", r.loss_sum = G.head_ce(backward_head ? a.dlnf : nullptr, backward_head ? m.g.lm_head : nullptr,
                                      &r.n_valid, a.head_scratch, a.head_chunk, a.lnf, m.w.lm_head, b.targets,
                                      N, C, c.V, grad_scale));
  }
  return r;
}

void model_backward(Model& m, Activations& a, const Batch& b, const StepOps* ops) {
  const ModelConfig& c = m.cfg;
  const StepOps& G = ops ? *ops : step_ops_reference();
  const int B = b.B, T = b.T, N = B * T, C = c.C, F = c.F, H = c.H, KV = c.KV, D = c.D, HD = H * D,
            KD = KV * D;
  TSFT_CHECK(a.training, "model_backward needs training activations");
  TSFT_CHECK(!m.grads.empty(), "model_backward: the model has no gradient memory (call set_trainable first)");
  const float* cs = m.rope_cos.data();
  const float* sn = m.rope_sin.data();
  const size_t NC = (size_t)N * C;
  auto lora_b = [&](int l, int p, float* dinp, const float* dout, const float* inp, int I, int O) {
    OP("b.lora", lora_proj_backward(G, m, a, b.dropout_seed, l, p, dinp, dout, inp, N, I, O));
  };

  // rmsnorm_forward(lnf, x[L], norm)
  OP("b.zero", zero(a.dres, NC));
  OP("b.rmsf", rmsnorm_backward(a.dres, m.g.norm, a.dlnf, a.x[c.L], a.lnf_rstd, m.w.norm, N, C));
  for (int l = c.L - 1; l >= 0; l--) {
    const LayerParams& w = m.w.layers[l];
    const LayerParams& g = m.g.layers[l];
    // x[l+1] = xmid + tmp: d xmid = dres (kept in dres); tmp = h @ Wd^T
    OP("b.zero", zero(a.dh, (size_t)N * F));
    OP("b.wd", G.linear_backward(a.dh, g.wd, g.bd, a.dres, a.h[l], w.wd, N, F, C));
    lora_b(l, lora_down, a.dh, a.dres, a.h[l], F, C);
    // h = silu(gate) * up
    OP("b.zero", zero(a.dgate, (size_t)N * F));
    OP("b.zero", zero(a.dup, (size_t)N * F));
    OP("b.swiglu", swiglu_backward(a.dgate, a.dup, a.dh, a.gate[l], a.up[l], (size_t)N * F));
    // gate = ln2 @ Wg^T, up = ln2 @ Wu^T
    OP("b.zero", zero(a.dln, NC));
    OP("b.gate_up", G.linear_backward(a.dln, g.wu, g.bu, a.dup, a.ln2[l], w.wu, N, C, F));
    lora_b(l, lora_up, a.dln, a.dup, a.ln2[l], C, F);
    OP("b.gate_up", G.linear_backward(a.dln, g.wg, g.bg, a.dgate, a.ln2[l], w.wg, N, C, F));
    lora_b(l, lora_gate, a.dln, a.dgate, a.ln2[l], C, F);
    // ln2 = rmsnorm(xmid)  -> dres += (dres is now d xmid)
    OP("b.rms2", rmsnorm_backward(a.dres, g.ln2, a.dln, a.xmid[l], a.ln2_rstd[l], w.ln2, N, C));
    // xmid = x[l] + att @ Wo^T: d x[l] = dres (kept), datt = dres @ Wo
    OP("b.zero", zero(a.datt, (size_t)N * HD));
    OP("b.wo", G.linear_backward(a.datt, g.wo, g.bo, a.dres, a.att[l], w.wo, N, HD, C));
    lora_b(l, lora_o, a.datt, a.dres, a.att[l], HD, C);
    // att = attention(q, k, v)
    OP("b.zero", zero(a.dq, (size_t)N * HD));
    OP("b.zero", zero(a.dk, (size_t)N * KD));
    OP("b.zero", zero(a.dv, (size_t)N * KD));
    OP("b.attn", G.attention_backward(a.dq, a.dk, a.dv, a.attn_scratch, a.datt, a.probs[l], a.q[l], a.k[l],
                                      a.v[l], b.doc, B, T, H, KV, D));
    // rope (in place on q, k)
    OP("b.rope", rope_backward(a.dq, b.pos, cs, sn, N, H, D));
    OP("b.rope", rope_backward(a.dk, b.pos, cs, sn, N, KV, D));
    OP("b.zero", zero(a.dln, NC));
    float* dq = a.dq;
    float* dk = a.dk;
    if (c.qk_norm) {  // q = rmsnorm_D(qpre), k = rmsnorm_D(kpre); datt is free again -> d qpre
      OP("b.zero", zero(a.datt, (size_t)N * HD));
      OP("b.zero", zero(a.dkpre, (size_t)N * KD));
      OP("b.qknorm", rmsnorm_backward(a.datt, g.q_norm, a.dq, a.qpre[l], a.q_rstd[l], w.q_norm, N * H, D));
      OP("b.qknorm", rmsnorm_backward(a.dkpre, g.k_norm, a.dk, a.kpre[l], a.k_rstd[l], w.k_norm, N * KV, D));
      dq = a.datt;
      dk = a.dkpre;
    }
    // q/k/v = ln1 @ W^T + b
    OP("b.qkv", G.linear_backward(a.dln, g.wv, g.bv, a.dv, a.ln1[l], w.wv, N, C, KD));
    lora_b(l, lora_v, a.dln, a.dv, a.ln1[l], C, KD);
    OP("b.qkv", G.linear_backward(a.dln, g.wk, g.bk, dk, a.ln1[l], w.wk, N, C, KD));
    lora_b(l, lora_k, a.dln, dk, a.ln1[l], C, KD);
    OP("b.qkv", G.linear_backward(a.dln, g.wq, g.bq, dq, a.ln1[l], w.wq, N, C, HD));
    lora_b(l, lora_q, a.dln, dq, a.ln1[l], C, HD);
    // ln1 = rmsnorm(x[l])
    OP("b.rms1", rmsnorm_backward(a.dres, g.ln1, a.dln, a.x[l], a.ln1_rstd[l], w.ln1, N, C));
  }
  OP("b.embed", if (m.g.embed) embedding_backward(m.g.embed, a.dres, b.ids, N, C));
}

}  // namespace tsft
