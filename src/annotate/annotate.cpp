#include "annotate/annotate.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <thread>

#include "annotate/annotate_impl.hpp"
#include "annotate/bm25.hpp"
#include "annotate/prompt.hpp"
#include "annotate/validate.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/jsonl_log.hpp"
#include "core/progress.hpp"
#include "data/adapters.hpp"
#include "net/openai_client.hpp"
#include "theorems/catalog.hpp"

namespace tsft::annotate {
using json = nlohmann::json;

namespace {
std::string hash_hex(const std::string& bytes) {
  return fmt::format("{:016x}", catalog_fnv1a(bytes.data(), bytes.size()));
}

// Everything a worker reads (immutable during the run) and the run's shared counters.
struct Ctx {
  Ctx(const AnnotateConfig& c, const MathCatalog& k, const PromptTemplate& p, net::ChatClientConfig cl)
      : cfg(c), cat(k), prompt(p), client(std::move(cl)), limiter(c.rate) {}
  const AnnotateConfig& cfg;
  const MathCatalog& cat;
  const PromptTemplate& prompt;
  net::ChatClientConfig client;
  net::RateLimiter limiter;
  std::mutex mu;
  RunTotals totals;
  int64_t accepted = 0, rejected = 0;
};

net::ChatClientConfig client_config(const AnnotateConfig& c) {
  TSFT_USAGE_CHECK(c.retries >= 0 && c.top_k >= 1, "--top-k must be >= 1, --retries >= 0");
  return net::chat_client_config(c.teacher, {{"max_tokens", c.max_tokens}, {"temperature", c.temperature}});
}

std::vector<Job> make_jobs(const AnnotateConfig& cfg, const MathCatalog& cat, const PromptTemplate& prompt) {
  auto problems = data::adapter_load(cfg.format, cfg.data, "train");
  if (cfg.limit > 0 && (int64_t)problems.size() > cfg.limit) problems.resize(cfg.limit);
  Bm25 index = catalog_index(cat);
  std::vector<Job> jobs;
  for (size_t i = 0; i < problems.size(); i++) {
    Job j;
    j.index = i;
    j.problem = std::move(problems[i]);
    j.solution = annotate_vanilla_target(j.problem);
    std::string ref = problem_solution(j.problem);
    std::vector<int> cand;
    for (auto& [d, s] : index.top_k(j.problem.question + "\n" + ref, cfg.top_k)) cand.push_back(d);
    j.messages = prompt_messages(prompt, {{"problem", j.problem.question},
                                          {"solution", ref},
                                          {"answer", j.problem.answer},
                                          {"theorems", prompt_theorem_list(cat, cand)}});
    j.key = hash_hex(cfg.teacher.model + '\0' + cat.hash + '\0' + prompt.hash + '\0' + j.messages.dump() +
                     '\0' + j.problem.answer);
    jobs.push_back(std::move(j));
  }
  return jobs;
}

// A cache record of annotations.jsonl as annotate_one writes it, checked on load so that an edited or
// foreign file is an error naming its line instead of a type_error when a field is read.
void check_cache_record(const JsonlRecord& r) {
  r.str("key");
  const std::string& status = r.str("status");
  TSFT_CHECK(status == "accepted" || status == "rejected" || status == "partial",
             "{}: field 'status' must be accepted, rejected or partial, got '{}'", r.where(), status);
  auto check = [&](const char* k, bool ok, const char* what) {
    TSFT_CHECK(ok, "{}: field '{}' must be {}", r.where(), k, what);
  };
  for (const char* k : {"attempts", "prompt_tokens", "completion_tokens"})
    if (r.value.contains(k)) check(k, r.value[k].is_number_integer(), "an integer");
  for (const char* k : {"id", "last_answer", "reason", "message", "target", "endpoint_error"})
    if (r.value.contains(k)) check(k, r.value[k].is_string(), "a string");
  if (status == "accepted") {
    r.str("target");
    const json& t = r.field("theorems");
    check("theorems", t.is_array() && std::all_of(t.begin(), t.end(), [](auto& x) { return x.is_string(); }),
          "an array of strings");
  }
  if (status == "partial") {
    const json& m = r.field("messages");
    check("messages",
          m.is_array() && std::all_of(m.begin(), m.end(),
                                      [](auto& x) {
                                        return x.is_object() && x.contains("role") && x["role"].is_string() &&
                                               x.contains("content") && x["content"].is_string();
                                      }),
          "an array of {role, content} string messages");
  }
}

json base_record(const Job& j) {
  return {
      {"key", j.key}, {"id", j.problem.id}, {"attempts", 0}, {"prompt_tokens", 0}, {"completion_tokens", 0}};
}

void add_tokens(json& rec, const net::ChatStats& st) {
  rec["prompt_tokens"] = rec.value("prompt_tokens", (int64_t)0) + st.prompt_tokens;
  rec["completion_tokens"] = rec.value("completion_tokens", (int64_t)0) + st.completion_tokens;
}

// One problem: ask, validate, re-ask with the validator's message. status: accepted | rejected (both
// cached) | error (endpoint failure). `from` is a cached record to continue: a "partial" one (answers
// were rejected, then the endpoint failed) resumes its conversation, so the answers already paid for are
// not asked again; a "rejected" one (--retry-rejected) starts over, its tokens carried into the total.
json annotate_one(const Job& j, Ctx& ctx, const json* from) {
  json rec = base_record(j), msgs = j.messages;
  int first = 0;
  if (from) {
    rec["prompt_tokens"] = from->value("prompt_tokens", (int64_t)0);
    rec["completion_tokens"] = from->value("completion_tokens", (int64_t)0);
    if ((*from)["status"] == "partial") {  // its last answer was rejected: that stands if no re-ask is left
      msgs = (*from)["messages"];
      first = from->value("attempts", 0);
      rec.update({{"attempts", first},
                  {"last_answer", from->value("last_answer", "")},
                  {"status", "rejected"},
                  {"reason", from->value("reason", "")},
                  {"message", from->value("message", "")}});
    }
  }
  for (int a = first; a <= ctx.cfg.retries; a++) {
    net::ChatStats st;
    net::ChatResult res;
    std::string error;
    try {
      res = net::chat_complete_one(ctx.client, msgs, j.index, &st, &ctx.limiter);
    } catch (const net::EndpointError& e) {
      // Key, permission or model name: every problem would fail alike, so stop (the cache is kept).
      if (e.status == 401 || e.status == 403 || e.status == 404) throw;
      error = e.what();
    } catch (const Error& e) {
      error = e.what();
    }
    add_tokens(rec, st);
    {
      std::lock_guard<std::mutex> lk(ctx.mu);
      ctx.totals.requests += st.requests, ctx.totals.retries += st.retries;
      ctx.totals.prompt_tokens += st.prompt_tokens, ctx.totals.completion_tokens += st.completion_tokens;
    }
    if (!error.empty()) {
      // Answers already rejected cost tokens: keep the conversation so a rerun continues it.
      if (a > 0) rec["messages"] = msgs;
      rec.update({{"status", a > 0 ? "partial" : "error"}, {"endpoint_error", error}});
      return rec;
    }
    AnnotationCheck chk = validate_annotation(res.text, j.problem.question, j.problem.answer, ctx.cat);
    rec.update({{"attempts", a + 1}, {"last_answer", res.text}});
    if (chk.ok) {
      rec.update({{"status", "accepted"}, {"target", chk.target}, {"theorems", chk.theorems}});
      return rec;
    }
    rec.update({{"status", "rejected"}, {"reason", chk.reason}, {"message", chk.message}});
    msgs.push_back({{"role", "assistant"}, {"content", res.text}});
    msgs.push_back({{"role", "user"}, {"content", prompt_fill(ctx.prompt.retry, {{"reason", chk.message}})}});
  }
  return rec;
}

std::string progress_extra(const Ctx& ctx) {
  return fmt::format("ok {} rejected {} errors {} | tokens {} in {} out", ctx.accepted, ctx.rejected,
                     ctx.totals.endpoint_errors, ctx.totals.prompt_tokens, ctx.totals.completion_tokens);
}

// Runs the pending jobs on `concurrency` threads. Accepted and rejected records are appended to the log
// (the cache) and go to `done`; a "partial" record (rejected answers, then an endpoint failure) is logged
// too, so a rerun continues it; endpoint failures go to `failed` (errors.jsonl), keyed like the cache.
void run_pending(const std::vector<const Job*>& pending, const std::map<std::string, json>& resume, Ctx& ctx,
                 JsonlLog& log, std::map<std::string, json>& done, std::map<std::string, json>& failed) {
  Progress prog("annotate", (int64_t)pending.size(), "problems");
  std::atomic<size_t> next{0};
  std::exception_ptr failure;
  int64_t finished = 0;
  auto worker = [&] {
    for (size_t i; !failure && (i = next++) < pending.size();) {
      try {
        auto it = resume.find(pending[i]->key);
        json rec = annotate_one(*pending[i], ctx, it == resume.end() ? nullptr : &it->second);
        bool error = rec["status"] == "error" || rec["status"] == "partial";
        if (rec["status"] != "error") log.append(rec);
        std::lock_guard<std::mutex> lk(ctx.mu);
        if (error) {
          ctx.totals.endpoint_errors++;
          log_info("{}: {}", pending[i]->problem.id, rec["endpoint_error"].get<std::string>());
          failed[rec["key"]] = rec;
        } else {
          (rec["status"] == "accepted" ? ctx.accepted : ctx.rejected)++;
          done[rec["key"]] = rec;
        }
        if (!ctx.cfg.quiet) prog.update(++finished, progress_extra(ctx));
      } catch (...) {
        std::lock_guard<std::mutex> lk(ctx.mu);
        if (!failure) failure = std::current_exception();
      }
    }
  };
  std::vector<std::thread> th;
  for (int k = 0; k < std::min<int>(ctx.cfg.teacher.concurrency, (int)pending.size()); k++)
    th.emplace_back(worker);
  for (auto& t : th) t.join();
  if (failure) std::rethrow_exception(failure);
  if (!ctx.cfg.quiet) prog.finish(progress_extra(ctx));
}
}  // namespace

json annotate_run(const AnnotateConfig& cfg) {
  auto t0 = std::chrono::steady_clock::now();
  MathCatalog cat =
      math_catalog_load(cfg.catalog_path.empty() ? math_catalog_default_path() : cfg.catalog_path);
  std::string prompt_path = cfg.prompt_path.empty() ? prompt_default_path() : cfg.prompt_path;
  PromptTemplate prompt = prompt_load(prompt_path);
  Ctx ctx(cfg, cat, prompt, client_config(cfg));
  std::vector<Job> jobs = make_jobs(cfg, cat, prompt);
  // One writer per out dir; what a killed run left half-written (temp files of the outputs) goes first.
  DirLock lock(cfg.out_dir, "tsft annotate");
  fs_remove_stale_temps(cfg.out_dir);
  std::vector<json> records;
  JsonlLog log(cfg.out_dir + "/annotations.jsonl", &records, check_cache_record);
  if (log.had_torn_tail())
    log_info("{}: dropped a torn last line (interrupted run); it is redone", log.path());
  std::map<std::string, json> done, resume, failed;  // the cache: the last record of a key wins
  for (auto& r : records) {
    std::string key = r["key"].get<std::string>();  // checked by check_cache_record
    bool finished = r["status"] != "partial";
    (finished ? done : resume)[key] = r;
    (finished ? resume : done).erase(key);
  }
  std::vector<const Job*> pending;
  for (auto& j : jobs) {
    auto it = done.find(j.key);
    bool retry = it != done.end() && cfg.retry_rejected && it->second["status"] == "rejected";
    if (retry) resume[j.key] = it->second, done.erase(it);
    if (!j.solution.empty() && !done.count(j.key)) pending.push_back(&j);
  }
  if (!cfg.quiet)
    log_info("{} problems: {} cached, {} to annotate with {} at {}", jobs.size(),
             jobs.size() - pending.size(), pending.size(), cfg.teacher.model, cfg.teacher.url);
  run_pending(pending, resume, ctx, log, done, failed);
  ctx.totals.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  json prov = {
      {"teacher", cfg.teacher.model},
      {"endpoint", cfg.teacher.url},
      {"data", cfg.data},
      {"format", cfg.format},
      {"catalog", {{"path", cfg.catalog_path}, {"hash", cat.hash}, {"theorems", cat.theorems.size()}}},
      {"prompt", {{"path", prompt_path}, {"hash", prompt.hash}}},
      {"top_k", cfg.top_k},
      {"retries", cfg.retries}};
  return annotate_write_outputs(cfg, jobs, done, failed, prov, ctx.totals);
}

}  // namespace tsft::annotate
