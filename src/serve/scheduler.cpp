#include "serve/scheduler.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/error.hpp"
#include "core/progress.hpp"

namespace tsft::serve {

Scheduler::Scheduler(Backend& be, const tokenizer::Tokenizer& tok, std::vector<int32_t> stop_ids,
                     int max_queue)
    : be_(be), tok_(tok), stop_ids_(std::move(stop_ids)), max_queue_(max_queue) {
  for (int s = be_.slots() - 1; s >= 0; s--) free_slots_.push_back(s);
  logits_.resize((size_t)be_.slots() * be_.vocab());
  thread_ = std::thread([this] { loop(); });
}

Scheduler::~Scheduler() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    quit_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

Scheduler::Submit Scheduler::submit(const std::shared_ptr<Job>& job) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (draining_ || quit_) return Submit::draining;
    if ((int)queue_.size() + job->n > max_queue_) return Submit::queue_full;
    job->choices.assign(job->n, Choice{});
    job->remaining = job->n;
    for (int i = 0; i < job->n; i++) {
      Seq q;
      q.job = job;
      q.choice = i;
      q.ids = job->prompt;
      q.rng =
          job->sampling.seed * 0x9E3779B97F4A7C15ULL + (uint64_t)i + 1;  // as generate(): per prompt index
      queue_.push_back(std::move(q));
    }
    stats_.jobs++;
    stats_.sequences += job->n;
    stats_.queued = (int)queue_.size();
  }
  cv_.notify_all();
  return Submit::ok;
}

void Scheduler::drain() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    draining_ = true;
  }
  while (!idle()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

bool Scheduler::idle() {
  std::lock_guard<std::mutex> lk(mu_);
  return queue_.empty() && stats_.active == 0;
}

SchedulerStats Scheduler::stats() {
  std::lock_guard<std::mutex> lk(mu_);
  return stats_;
}

void Scheduler::loop() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait(lk, [&] { return quit_ || !queue_.empty() || !active_.empty(); });
      if (quit_ && queue_.empty() && active_.empty()) return;
    }
    try {
      drop_cancelled();
      admit();
      if (!active_.empty()) step();
    } catch (const std::exception& e) {  // never leave a client waiting on a sequence that cannot advance
      log_info("serve: generation failed: {}", e.what());
      while (!active_.empty()) finish(active_.size() - 1, "error");
    }
  }
}

void Scheduler::drop_cancelled() {
  for (size_t i = active_.size(); i-- > 0;)
    if (active_[i].job->cancelled) finish(i, "cancelled");
}

// Move queued sequences into free slots; each is prefilled and gets its first token at once.
void Scheduler::admit() {
  while (!free_slots_.empty()) {
    Seq q;
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (queue_.empty()) return;
      q = std::move(queue_.front());
      queue_.pop_front();
      stats_.queued = (int)queue_.size();
      stats_.active++;
      stats_.prompt_tokens += (int64_t)q.ids.size();
    }
    q.slot = free_slots_.back();
    free_slots_.pop_back();
    active_.push_back(std::move(q));
    Seq& s = active_.back();
    if (s.job->cancelled) {
      finish(active_.size() - 1, "cancelled");
      continue;
    }
    be_.prefill(s.slot, s.ids, logits_.data());
    if (push(s, logits_.data())) finish(active_.size() - 1, "");
  }
}

// One decode step for every active sequence.
void Scheduler::step() {
  const int B = (int)active_.size(), V = be_.vocab();
  std::vector<int32_t> slots(B), ids(B), pos(B);
  for (int i = 0; i < B; i++) {
    slots[i] = active_[i].slot;
    ids[i] = active_[i].ids.back();
    pos[i] = (int32_t)active_[i].ids.size() - 1;
  }
  be_.decode(slots, ids, pos, logits_.data());
  std::vector<char> done(B);
  for (int i = 0; i < B; i++) done[i] = push(active_[i], logits_.data() + (size_t)i * V);
  {
    std::lock_guard<std::mutex> lk(mu_);
    stats_.decode_steps++;
    stats_.batch_sum += B;
  }
  for (int i = B - 1; i >= 0; i--)
    if (done[i]) finish(i, "");
}

namespace {
// log p(id) under softmax(z), and the k most likely ids with their log p.
TokenLogprob logprob_of(const float* z, int V, int32_t id, int k) {
  double mx = *std::max_element(z, z + V), sum = 0;
  for (int i = 0; i < V; i++) sum += std::exp((double)z[i] - mx);
  const double lse = mx + std::log(sum);
  TokenLogprob t{id, (float)(z[id] - lse), {}};
  k = std::min(k, V);
  if (k > 0) {
    std::vector<int32_t> idx(V);
    for (int i = 0; i < V; i++) idx[i] = i;
    std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int a, int b) { return z[a] > z[b]; });
    for (int i = 0; i < k; i++) t.top.push_back({idx[i], (float)(z[idx[i]] - lse)});
  }
  return t;
}

// Bytes at the end of `text` that may still change or turn out to start a stop string.
size_t unstable_tail(const std::string& text, const std::vector<std::string>& stops) {
  size_t hold = 0;
  for (auto& s : stops) hold = std::max(hold, s.size() - 1);
  static const std::string replacement = "\xEF\xBF\xBD";  // an incomplete UTF-8 sequence so far
  size_t t = text.size();
  while (t >= 3 && text.compare(t - 3, 3, replacement) == 0) t -= 3;
  return std::min(text.size(), hold + (text.size() - t));
}
}  // namespace

// Sample the next token of q from logits (modified), record it; true when the sequence is finished.
bool Scheduler::push(Seq& q, float* logits) {
  Job& j = *q.job;
  const int V = be_.vocab();
  std::vector<float> raw;  // sampling rescales logits in place; logprobs are of the model's distribution
  if (j.logprobs >= 0) raw.assign(logits, logits + V);
  int32_t tok = sample_token(logits, V, j.sampling, &q.rng);
  TokenLogprob lp;
  if (j.logprobs >= 0) lp = logprob_of(raw.data(), V, tok, j.logprobs);
  q.ids.push_back(tok);
  std::lock_guard<std::mutex> lk(j.mu);
  Choice& c = j.choices[q.choice];
  c.tokens.push_back(tok);
  if (j.logprobs >= 0) c.logprobs.push_back(std::move(lp));
  c.text = tok_.decode(c.tokens, true);
  bool done = std::find(stop_ids_.begin(), stop_ids_.end(), tok) != stop_ids_.end();
  if (done) c.finish_reason = "stop";
  size_t cut = std::string::npos;
  for (auto& s : j.stop) cut = std::min(cut, c.text.find(s));
  if (cut != std::string::npos) {  // the text ends before a stop string, even when a stop id also fired
    c.text.resize(cut);
    c.finish_reason = "stop";
    done = true;
  }
  if (!done && ((int)c.tokens.size() >= j.max_tokens || (int)q.ids.size() >= be_.max_context())) {
    c.finish_reason = "length";
    done = true;
  }
  size_t st = done ? c.text.size() : c.text.size() - unstable_tail(c.text, j.stop);
  while (st > 0 && st < c.text.size() && ((unsigned char)c.text[st] & 0xC0) == 0x80) st--;  // char boundary
  c.stable = std::max(c.stable, st);
  j.cv.notify_all();
  return done;
}

// Sequence i leaves the batch; `reason` overrides the finish reason push() set ("" keeps it).
void Scheduler::finish(size_t i, const std::string& reason) {
  Seq& q = active_[i];
  int64_t n_new = 0;
  {
    Job& j = *q.job;
    std::lock_guard<std::mutex> lk(j.mu);
    Choice& c = j.choices[q.choice];
    if (!reason.empty()) c.finish_reason = reason;
    c.stable = c.text.size();
    c.done = true;
    n_new = (int64_t)c.tokens.size();
    j.remaining--;
    j.cv.notify_all();
  }
  free_slots_.push_back(q.slot);
  {
    std::lock_guard<std::mutex> lk(mu_);
    stats_.active--;
    stats_.new_tokens += n_new;
    if (reason == "cancelled") stats_.cancelled++;
  }
  active_.erase(active_.begin() + (ptrdiff_t)i);
}

}  // namespace tsft::serve
