#include "model/generate.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "model/engine.hpp"

namespace tsft {

int32_t sample_token(float* z, int V, const SamplingParams& sp, uint64_t* state) {
  if (sp.temperature <= 0) return (int32_t)(std::max_element(z, z + V) - z);
  // HF order: temperature -> top-k -> top-p -> softmax -> multinomial
  for (int i = 0; i < V; i++) z[i] = (float)(z[i] / sp.temperature);
  std::vector<int> idx(V);
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](int a, int b) { return z[a] > z[b]; });
  int keep = V;
  if (sp.top_k > 0) keep = std::min(keep, sp.top_k);
  double mx = z[idx[0]], sum = 0;
  std::vector<double> p(keep);
  for (int i = 0; i < keep; i++) sum += p[i] = std::exp(z[idx[i]] - mx);
  if (sp.top_p < 1.0) {  // smallest prefix whose mass reaches top_p (at least one token)
    double acc = 0;
    int k = 0;
    while (k < keep) {
      acc += p[k] / sum;
      k++;
      if (acc >= sp.top_p) break;
    }
    keep = k;
    sum = 0;
    for (int i = 0; i < keep; i++) sum += p[i];
  }
  Xoshiro rng(*state);
  double u = rng.uniform() * sum;
  *state = rng.next_u64();
  for (int i = 0; i < keep; i++) {
    u -= p[i];
    if (u < 0) return idx[i];
  }
  return idx[keep - 1];
}

namespace {
struct Seq {
  size_t index = 0;
  int slot = 0;
  std::vector<int32_t> ids;  // prompt + generated
  size_t prompt_len = 0;
  uint64_t rng = 0;
};
}  // namespace

std::vector<GenResult> generate(Engine& e, const std::vector<std::vector<int32_t>>& prompts,
                                const GenOptions& opt, GenStats* stats) {
  const ModelConfig& c = e.config();
  const int V = c.V;
  std::vector<GenResult> results(prompts.size());
  if (prompts.empty()) return results;
  size_t max_prompt = 0;
  for (size_t i = 0; i < prompts.size(); i++) {
    TSFT_CHECK(!prompts[i].empty(), "generate: prompt {} is empty", i);
    max_prompt = std::max(max_prompt, prompts[i].size());
  }
  const int max_len = (int)std::min<size_t>(max_prompt + opt.max_new_tokens, c.max_position);
  TSFT_CHECK((int)max_prompt < max_len || opt.max_new_tokens == 0,
             "generate: a prompt of {} tokens leaves no room under max_position_embeddings {}", max_prompt,
             c.max_position);
  const int S = std::max(1, std::min<int>(opt.max_batch, (int)prompts.size()));
  auto t0 = std::chrono::steady_clock::now();
  GenStats st;

  // Memory planned once: prefill (1 row x longest prompt), decode (S rows x 1 token), the cache.
  const int prefill_T = opt.use_cache ? (int)max_prompt : max_len;
  std::unique_ptr<Workspace> act_prefill = e.workspace(1, prefill_T, false);
  std::unique_ptr<Workspace> act_decode = e.workspace(S, 1, false);
  KVCache cache = opt.use_cache ? e.kv_cache(S, max_len) : KVCache{};
  std::vector<float> logits((size_t)S * V);
  std::vector<int32_t> pos(std::max<size_t>(max_len, S)), ids(S), slots(S);

  // logits of the rows `rows` of the last forward -> logits[i]
  auto head = [&](Workspace& ws, const std::vector<int>& rows) {
    e.logits_rows(ws, rows.data(), (int)rows.size(), logits.data());
  };

  std::vector<Seq> active;
  std::vector<int> free_slots;
  for (int s = S - 1; s >= 0; s--) free_slots.push_back(s);
  size_t next = 0;
  double batch_sum = 0;
  int64_t decode_steps = 0;

  // Append token, decide whether the sequence is finished.
  auto push = [&](Seq& q, int32_t tok) -> bool {
    q.ids.push_back(tok);
    GenResult& r = results[q.index];
    r.tokens.push_back(tok);
    st.new_tokens++;
    if (std::find(opt.stop_ids.begin(), opt.stop_ids.end(), tok) != opt.stop_ids.end()) {
      r.finish_reason = "stop_id";
      return true;
    }
    if (opt.stop_check && opt.stop_check(q.index, r.tokens)) {
      r.finish_reason = "stop";
      return true;
    }
    if ((int)r.tokens.size() >= opt.max_new_tokens || (int)q.ids.size() >= max_len) {
      r.finish_reason = "length";
      return true;
    }
    return false;
  };
  auto finish = [&](size_t i) {
    free_slots.push_back(active[i].slot);
    if (opt.on_done) opt.on_done(active[i].index);
    active.erase(active.begin() + i);
  };
  // Full forward of one sequence (prefill, or every step without a cache); samples its next token.
  auto run_full = [&](Seq& q) -> bool {
    int T = (int)q.ids.size();
    for (int t = 0; t < T; t++) pos[t] = t;
    Batch b{q.ids.data(), nullptr, pos.data(), nullptr, 1, T};
    int32_t slot = q.slot;
    if (opt.use_cache) {
      b.cache = &cache;
      b.slot = &slot;
    }
    e.forward(*act_prefill, b);
    head(*act_prefill, {T - 1});
    GenResult& r = results[q.index];
    if (r.tokens.empty()) r.first_logits.assign(logits.begin(), logits.begin() + V);
    return push(q, sample_token(logits.data(), V, opt.sampling, &q.rng));
  };

  while (next < prompts.size() || !active.empty()) {
    // Admit waiting prompts into free slots.
    while (next < prompts.size() && !free_slots.empty()) {
      Seq q;
      q.index = next++;
      q.slot = free_slots.back();
      free_slots.pop_back();
      q.ids = prompts[q.index];
      q.prompt_len = q.ids.size();
      q.rng = opt.sampling.seed * 0x9E3779B97F4A7C15ULL + q.index + 1;
      st.prompt_tokens += (int64_t)q.prompt_len;
      if (opt.max_new_tokens <= 0) {
        results[q.index].finish_reason = "length";
        free_slots.push_back(q.slot);
        continue;
      }
      active.push_back(std::move(q));
      if (run_full(active.back())) finish(active.size() - 1);
    }
    if (active.empty()) continue;
    if (!opt.use_cache) {
      for (size_t i = 0; i < active.size();)
        if (run_full(active[i])) finish(i);
        else i++;
      continue;
    }
    // One decode step for every active sequence.
    int B = (int)active.size();
    std::vector<int> rows(B);
    for (int i = 0; i < B; i++) {
      ids[i] = active[i].ids.back();
      pos[i] = (int32_t)active[i].ids.size() - 1;
      slots[i] = active[i].slot;
      rows[i] = i;
    }
    Batch b{ids.data(), nullptr, pos.data(), nullptr, B, 1, &cache, slots.data()};
    e.forward(*act_decode, b);
    head(*act_decode, rows);
    batch_sum += B;
    decode_steps++;
    std::vector<char> done(B, 0);
    for (int i = 0; i < B; i++)
      done[i] = push(active[i], sample_token(logits.data() + (size_t)i * V, V, opt.sampling, &active[i].rng));
    for (int i = B - 1; i >= 0; i--)
      if (done[i]) finish(i);
  }
  st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  st.avg_batch = decode_steps ? batch_sum / decode_steps : 0;
  if (stats) *stats = st;
  return results;
}

}  // namespace tsft
