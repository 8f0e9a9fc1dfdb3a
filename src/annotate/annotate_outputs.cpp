// The files of `tsft annotate` built from its cache: both SFT arms over the same accepted problems, the
// rejections, and the summary.
#include <regex>

#include "annotate/annotate_impl.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/progress.hpp"
#include "data/adapters.hpp"

namespace tsft::annotate {
using json = nlohmann::json;

std::string problem_solution(const data::Problem& p) {
  if (!p.extra.is_object() || !p.extra.contains("solution") || p.extra["solution"].is_null()) return "";
  const json& s = p.extra["solution"];
  TSFT_CHECK(s.is_string(), "problem '{}': field 'extra.solution' must be a string, got {}", p.id,
             s.type_name());
  return s.get<std::string>();
}

std::string annotate_vanilla_target(const data::Problem& p) {
  std::string s = problem_solution(p);
  static const std::regex calc(R"(<<[^<>]*>>)");
  s = std::regex_replace(s, calc, "");
  size_t hash = s.rfind("####");
  if (hash != std::string::npos) s = s.substr(0, hash) + "\\boxed{" + p.answer + "}";
  size_t a = s.find_first_not_of(" \t\r\n"), b = s.find_last_not_of(" \t\r\n");
  if (a == std::string::npos) return "";
  s = s.substr(a, b - a + 1);
  if (data::adapter_last_boxed(s).empty()) s += "\n\\boxed{" + p.answer + "}";
  return s;
}

namespace {
json chat_line(const data::Problem& p, const std::string& arm, const std::string& target) {
  return {{"id", p.id},
          {"arm", arm},
          {"messages",
           {{{"role", "user"}, {"content", p.question}}, {{"role", "assistant"}, {"content", target}}}}};
}

std::string dump_line(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

struct Tally {
  int64_t accepted = 0, rejected = 0, no_solution = 0, pending = 0, prompt_tokens = 0, completion_tokens = 0;
  std::map<std::string, int64_t> by_reason, theorem_use, attempts;
};

void count(const json& r, Tally& t) {
  t.prompt_tokens += r.value("prompt_tokens", (int64_t)0);
  t.completion_tokens += r.value("completion_tokens", (int64_t)0);
  t.attempts[std::to_string(r.value("attempts", 0))]++;
  if (r["status"] == "accepted") {
    t.accepted++;
    for (auto& id : r["theorems"]) t.theorem_use[id.get<std::string>()]++;
  } else {
    t.rejected++;
    t.by_reason[r.value("reason", "?")]++;
  }
}
}  // namespace

json annotate_write_outputs(const AnnotateConfig& cfg, const std::vector<Job>& jobs,
                            const std::map<std::string, json>& done,
                            const std::map<std::string, json>& failed, const json& provenance,
                            const RunTotals& run) {
  std::string thm, van, rej, probs, errs;
  Tally t;
  for (const Job& j : jobs) {
    if (j.solution.empty()) {
      t.no_solution++;
      continue;
    }
    auto it = done.find(j.key);
    if (it == done.end()) {
      t.pending++;
      if (auto f = failed.find(j.key); f != failed.end()) {  // not cached: the next run asks again
        const json& r = f->second;
        t.prompt_tokens += r.value("prompt_tokens", (int64_t)0);
        t.completion_tokens += r.value("completion_tokens", (int64_t)0);
        errs += dump_line({{"id", j.problem.id},
                           {"error", r["endpoint_error"]},
                           {"answers_rejected_before", r.value("attempts", 0)},
                           {"prompt_tokens", r["prompt_tokens"]},
                           {"completion_tokens", r["completion_tokens"]}});
      }
      continue;
    }
    const json& r = it->second;
    count(r, t);
    if (r["status"] == "accepted") {
      thm += dump_line(chat_line(j.problem, "theorem", r["target"]));
      van += dump_line(chat_line(j.problem, "vanilla", j.solution));
      probs += dump_line(data::problem_to_json(j.problem));
    } else {
      rej += dump_line({{"id", j.problem.id},
                        {"reason", r["reason"]},
                        {"message", r["message"]},
                        {"attempts", r["attempts"]},
                        {"prompt_tokens", r["prompt_tokens"]},
                        {"completion_tokens", r["completion_tokens"]},
                        {"last_answer", r.value("last_answer", "")}});
    }
  }
  json s = provenance;
  s.update({{"problems", jobs.size()},
            {"accepted", t.accepted},
            {"rejected", {{"total", t.rejected}, {"by_reason", t.by_reason}}},
            {"not_annotated", {{"no_reference_solution", t.no_solution}, {"endpoint_error", t.pending}}},
            {"tokens", {{"prompt", t.prompt_tokens}, {"completion", t.completion_tokens}}},
            {"attempts", t.attempts},
            {"theorem_use", t.theorem_use},
            {"this_run",
             {{"requests", run.requests},
              {"retries", run.retries},
              {"prompt_tokens", run.prompt_tokens},
              {"completion_tokens", run.completion_tokens},
              {"endpoint_errors", run.endpoint_errors},
              {"seconds", run.seconds}}}});
  fs_write_atomic(cfg.out_dir + "/theorem.jsonl", thm);
  fs_write_atomic(cfg.out_dir + "/vanilla.jsonl", van);
  fs_write_atomic(cfg.out_dir + "/rejected.jsonl", rej);
  fs_write_atomic(cfg.out_dir + "/errors.jsonl", errs);
  fs_write_atomic(cfg.out_dir + "/problems.jsonl", probs);
  fs_write_atomic(cfg.out_dir + "/summary.json", s.dump(2) + "\n");
  return s;
}

}  // namespace tsft::annotate
