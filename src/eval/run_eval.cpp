#include "eval/run_eval.hpp"

#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/jsonl.hpp"
#include "core/progress.hpp"
#include "data/adapters.hpp"
#include "data/problem.hpp"
#include "eval/gen_source.hpp"
#include "eval/grade.hpp"
#include "eval/stats.hpp"
#include "kernels/cpu/kernels.hpp"
#include "theorems/catalog.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace tsft::eval {

json item_to_json(const ItemResult& r) {
  return {{"id", r.id},
          {"split", r.split},
          {"probe", r.probe},
          {"parent_id", r.parent_id},
          {"family", r.family},
          {"domain", r.domain},
          {"theorems", r.theorems},
          {"gold", r.gold},
          {"output", r.output},
          {"extracted", r.extracted},
          {"rule", r.rule},
          {"correct", r.correct},
          {"new_tokens", r.new_tokens}};
}

ItemResult item_from_json(const json& j, const std::string& where) {
  TSFT_CHECK(j.is_object() && j.contains("id") && j.contains("correct"), "{}: not a results line", where);
  // Every field's type is checked by name: results.jsonl is read back on resume and by report/compare,
  // and a hand-edited line must say which field is wrong.
  auto str = [&](const char* k) {
    if (!j.contains(k)) return std::string();
    TSFT_CHECK(j[k].is_string(), "{}: field '{}' must be a string, not {}", where, k, j[k].dump());
    return j[k].get<std::string>();
  };
  TSFT_CHECK(j["correct"].is_boolean(), "{}: field 'correct' must be true or false, not {}", where,
             j["correct"].dump());
  ItemResult r;
  r.id = str("id");
  r.split = str("split");
  r.probe = str("probe");
  r.parent_id = str("parent_id");
  r.family = str("family");
  r.domain = str("domain");
  r.gold = str("gold");
  r.output = str("output");
  r.extracted = str("extracted");
  r.rule = str("rule");
  r.correct = j["correct"].get<bool>();
  TSFT_CHECK(!j.contains("new_tokens") || (j["new_tokens"].is_number_integer() && j["new_tokens"] >= 0),
             "{}: field 'new_tokens' must be a non-negative integer, not {}", where, j["new_tokens"].dump());
  r.new_tokens = j.value("new_tokens", (int64_t)0);
  if (j.contains("theorems")) {
    const json& th = j["theorems"];
    TSFT_CHECK(
        th.is_array() && std::all_of(th.begin(), th.end(), [](const json& x) { return x.is_string(); }),
        "{}: field 'theorems' must be a list of strings", where);
    r.theorems = th.get<std::vector<std::string>>();
  }
  return r;
}

std::vector<ItemResult> eval_read_results(const std::string& path) {
  // Appended per chunk: a run killed mid-append leaves a torn last line, dropped here (and redone on
  // resume). No file yet: no results.
  std::vector<ItemResult> out;
  jsonl_for_each(path, [&](JsonlRecord& r) { out.push_back(item_from_json(r.value, r.where())); },
                 {JsonlTail::kDropTorn, true});
  return out;
}

namespace {
struct Pending {
  ItemResult r;
  std::string question;
};

std::string str_field(const json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return "";
  return j[key].is_string() ? j[key].get<std::string>() : j[key].dump();
}

// Domain of a theorem-world item from the catalog when the problem does not carry one (chains across
// domains join them with '+'). Public datasets keep "" unless their adapter set it.
std::string domain_of(const std::vector<std::string>& theorems) {
  static const std::map<std::string, std::string> by_id = [] {
    std::map<std::string, std::string> m;
    try {
      for (auto& t : catalog_load(catalog_default_dir()).theorems) m[t.id] = t.domain;
    } catch (const std::exception&) {  // no catalog next to this build: domains stay unknown
    }
    return m;
  }();
  std::string d;
  for (auto& t : theorems) {
    auto it = by_id.find(t);
    if (it == by_id.end()) continue;
    if (d.find(it->second) == std::string::npos) d += (d.empty() ? "" : "+") + it->second;
  }
  return d;
}

// One problem record (problem JSONL line, or an adapter's Problem as JSON) -> a pending item.
Pending pending_from_json(const json& j, const std::string& where) {
  TSFT_CHECK(j.is_object() && j.contains("id") && j.contains("question") && j.contains("answer"),
             "{}: a problem needs fields 'id', 'question' and 'answer'", where);
  Pending p;
  p.r.id = str_field(j, "id");
  p.question = str_field(j, "question");
  p.r.gold = str_field(j, "answer");
  p.r.split = str_field(j, "split");
  p.r.probe = str_field(j, "perturbation");
  if (p.r.probe == "none") p.r.probe.clear();  // theorem-world originals
  p.r.parent_id = str_field(j, "parent_id");
  p.r.family = str_field(j, "family");
  p.r.domain = str_field(j, "domain");
  if (j.contains("theorems") && j["theorems"].is_array())
    for (auto& t : j["theorems"]) p.r.theorems.push_back(t.is_string() ? t.get<std::string>() : t.dump());
  if (p.r.domain.empty()) p.r.domain = domain_of(p.r.theorems);
  return p;
}

std::vector<std::string> data_files(const EvalConfig& cfg) {
  std::vector<std::string> files;
  for (auto& d : cfg.data) {
    if (fs::is_directory(d)) {
      for (auto& p : fs::recursive_directory_iterator(d)) {
        auto ext = p.path().extension();
        if (ext == ".jsonl" || (!cfg.format.empty() && ext == ".json")) files.push_back(p.path().string());
      }
    } else {
      files.push_back(d);
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

// --format: a native dataset file through its adapter (errors name file:line and field), exactly the
// records `tsft convert --format F --split S` would write.
void read_adapter_file(const EvalConfig& cfg, const std::string& f, std::vector<Pending>& out) {
  auto problems = data::adapter_load(cfg.format, f, cfg.split);
  if (cfg.limit > 0 && (int64_t)problems.size() > cfg.limit) problems.resize(cfg.limit);
  for (size_t i = 0; i < problems.size(); i++)
    out.push_back(pending_from_json(data::problem_to_json(problems[i]), fmt::format("{}: record {}", f, i)));
}

// Problem JSONL (written atomically: strict to the last line); --limit: the first N records, the rest unread.
void read_problem_file(const EvalConfig& cfg, const std::string& f, std::vector<Pending>& out) {
  JsonlOptions opt;
  opt.max_records = cfg.limit > 0 ? (size_t)cfg.limit : 0;
  jsonl_for_each(
      f, [&](JsonlRecord& r) { out.push_back(pending_from_json(r.value, r.where())); }, opt);
}

std::vector<Pending> read_problems(const EvalConfig& cfg) {
  if (!cfg.format.empty()) {
    const auto& known = data::adapter_formats();
    TSFT_USAGE_CHECK(std::count(known.begin(), known.end(), cfg.format),
                     "--format '{}': unknown dataset format (known: {})", cfg.format, fmt::join(known, ", "));
  }
  std::vector<Pending> out;
  for (auto& f : data_files(cfg)) {
    if (cfg.format.empty())
      read_problem_file(cfg, f, out);
    else
      read_adapter_file(cfg, f, out);
  }
  return out;
}

json acc_json(int64_t k, int64_t n) {
  Interval w = stats_wilson(k, n);
  return {{"n", n},
          {"correct", k},
          {"accuracy", w.estimate},
          {"ci95", {std::max(0.0, w.lo), std::min(1.0, w.hi)}}};
}
}  // namespace

json eval_metrics(const std::vector<ItemResult>& rs) {
  std::map<std::string, std::pair<int64_t, int64_t>> by_split, by_probe, by_theorem, by_domain;
  std::map<std::string, const ItemResult*> by_id;
  for (auto& r : rs) by_id[r.id] = &r;
  int64_t k = 0;
  for (auto& r : rs) {
    k += r.correct;
    auto add = [&](auto& m, const std::string& key) {
      if (key.empty()) return;
      m[key].first += r.correct;
      m[key].second++;
    };
    add(by_split, r.split);
    add(by_probe, r.probe);
    for (auto& t : r.theorems) add(by_theorem, t);
    add(by_domain, r.domain);
  }
  json j;
  j["overall"] = acc_json(k, (int64_t)rs.size());
  for (auto [name, m] : {std::pair{"split", &by_split},
                         {"probe", &by_probe},
                         {"theorem", &by_theorem},
                         {"domain", &by_domain}}) {
    json o = json::object();
    for (auto& [key, c] : *m) o[key] = acc_json(c.first, c.second);
    j["by_" + std::string(name)] = o;
  }
  // Pairs: each probe variant against its parent.
  std::map<std::string, std::vector<uint8_t>> par, var, copied, differ, flagged;
  for (auto& r : rs) {
    if (r.probe.empty() || r.parent_id.empty()) continue;
    auto it = by_id.find(r.parent_id);
    if (it != by_id.end()) {
      par[r.probe].push_back(it->second->correct);
      var[r.probe].push_back(r.correct);
      bool golds_differ = !grade_pair(it->second->gold, r.gold).equal;
      differ[r.probe].push_back(golds_differ);
      copied[r.probe].push_back(golds_differ && grade_pair(it->second->gold, r.output).equal);
    }
    if (r.probe == "P8" || r.probe == "P9") flagged[r.probe].push_back(extract_is_cannot_determine(r.output));
  }
  json pj = json::object();
  for (auto& [probe, p] : par) {
    PairStats s = stats_pairs(p, var[probe]);
    Interval cr = stats_copy_rate(copied[probe], differ[probe]);
    pj[probe] = {{"pairs", s.pairs},
                 {"parent_accuracy", s.parent_acc},
                 {"variant_accuracy", s.variant_acc},
                 {"drop", s.drop},
                 {"relative_drop", s.relative_drop},
                 {"conditional_drop", s.conditional_drop},
                 {"pair_consistency", s.consistency},
                 {"answer_copy_rate", cr.estimate},
                 {"answer_copy_ci95", {cr.lo, cr.hi}}};
  }
  for (auto& [probe, f] : flagged) {
    Interval fr = stats_flag_rate(f);
    pj[probe]["premise_flag_rate"] = fr.estimate;
    pj[probe]["premise_flag_ci95"] = {fr.lo, fr.hi};
  }
  j["pairs"] = pj;
  return j;
}

// What the graded outputs depend on, besides the items: the model's files (name, size, mtime) and
// the generation settings. Items and limit are left out: growing the item set is a legitimate resume.
namespace {
json dir_files(const std::string& dir) {  // *.safetensors and *config.json: name, size, mtime
  json files = json::array();
  std::vector<fs::directory_entry> es;
  if (fs::is_directory(dir))
    for (auto& e : fs::directory_iterator(dir)) es.push_back(e);
  std::sort(es.begin(), es.end(), [](auto& a, auto& b) { return a.path().filename() < b.path().filename(); });
  for (auto& e : es) {
    std::string n = e.path().filename().string();
    if (!e.is_regular_file() ||
        (e.path().extension() != ".safetensors" && n != "config.json" && n != "adapter_config.json"))
      continue;
    files.push_back({n, (int64_t)e.file_size(), (int64_t)e.last_write_time().time_since_epoch().count()});
  }
  return files;
}
}  // namespace

json eval_fingerprint(const EvalConfig& cfg) {
  json fp = {{"model_dir", cfg.model_dir},
             {"model_files", dir_files(cfg.model_dir)},
             {"tokenizer", cfg.tokenizer_path},
             {"chat_template", cfg.chat_template},
             {"system", cfg.system},
             {"max_new_tokens", cfg.max_new_tokens}};
  if (cfg.endpoint.url.empty()) fp["engine"] = cfg.engine.name();
  if (!cfg.adapter_dir.empty())
    fp["adapter"] = {{"dir", cfg.adapter_dir}, {"files", dir_files(cfg.adapter_dir)}};
  if (!cfg.endpoint.url.empty()) fp["endpoint"] = {{"url", cfg.endpoint.url}, {"model", cfg.endpoint.model}};
  return fp;
}

// failed.jsonl: items whose endpoint request failed for good (not graded, never counted as wrong),
// {"id", "split", "error"} per line, rewritten atomically after every chunk. A rerun asks them again.
namespace {
std::map<std::string, json> read_failed(const std::string& path) {
  // Rewritten atomically, so never torn by this program; a torn last line (as before the shared reader)
  // only loses the note that its item failed last time: the item is asked again either way.
  std::map<std::string, json> out;
  jsonl_for_each(path,
                 [&](JsonlRecord& r) {
                   std::string id = r.str("id");
                   out[id] = std::move(r.value);
                 },
                 {JsonlTail::kDropTorn, true});
  return out;
}

void write_failed(const std::string& path, const std::map<std::string, json>& failed) {
  std::string s;
  for (auto& [id, j] : failed) s += j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  fs_write_atomic(path, s);
}

void grade_into(ItemResult& r, const GenOutput& g) {
  r.output = g.text;
  r.new_tokens = g.new_tokens;
  GradeResult gr = grade_pair(r.gold, r.output);
  r.extracted = gr.extracted;
  r.rule = extract_rule_name(gr.rule);
  r.correct = gr.equal;
}
// Resume only the same evaluation: a directory holding results must hold the eval_run.json of the same
// model and settings; results of another model or other settings are never mixed in.
void check_same_evaluation(const EvalConfig& cfg, const json& fp, const std::string& fp_path, size_t n_done) {
  TSFT_USAGE_CHECK(
      fs::exists(fp_path),
      "{}: holds {} graded items but no eval_run.json saying which model and settings made them; "
      "use a new --out directory (or delete it) to evaluate again",
      cfg.out_dir, n_done);
  json old = json::parse(fs_read_text(fp_path), nullptr, false);
  if (old.is_object() && !old.contains("engine")) old["engine"] = EngineSpec{}.name();  // runs before engines
  for (auto& [k, v] : fp.items())
    TSFT_USAGE_CHECK(
        old.is_object() && old.contains(k) && old[k] == v,
        "{}: holds results of a different evaluation ({} changed: was {}, now {}); use a new --out "
        "directory (or delete it) to evaluate again",
        fp_path, k, old.is_object() && old.contains(k) ? old[k].dump() : "absent", v.dump());
}

// Generates and grades `todo` in chunks: each graded item is appended to results.jsonl (and `done`) as
// its chunk finishes, each endpoint failure goes to failed.jsonl (not graded: neither right nor wrong).
void generate_and_grade(const EvalConfig& cfg, GenSource& src, std::vector<Pending>& todo,
                        std::vector<ItemResult>& done, std::map<std::string, json>& failed,
                        const std::string& res_path, const std::string& failed_path) {
  std::ofstream out(res_path, std::ios::app);
  Progress prog("eval", (int64_t)todo.size(), "items");
  for (size_t c0 = 0; c0 < todo.size(); c0 += cfg.chunk) {
    size_t c1 = std::min(todo.size(), c0 + cfg.chunk);
    std::vector<std::string> questions;
    for (size_t i = c0; i < c1; i++) questions.push_back(todo[i].question);
    auto res = src.generate(questions);
    for (size_t i = c0; i < c1; i++) {
      ItemResult& r = todo[i].r;
      const GenOutput& g = res[i - c0];
      if (!g.error.empty()) {
        failed[r.id] = {{"id", r.id}, {"split", r.split}, {"error", g.error}};
        continue;
      }
      failed.erase(r.id);
      grade_into(r, g);
      out << item_to_json(r).dump() << "\n";
      done.push_back(r);
    }
    out.flush();
    write_failed(failed_path, failed);
    if (!cfg.quiet) prog.update((int64_t)c1, fmt::format("failed {}", failed.size()));
  }
}

// metrics.json is a function of results.jsonl and failed.jsonl (+ model and shard), so a resumed
// evaluation writes the same bytes as an uninterrupted one; this invocation's throughput goes to
// generation.json.
void write_eval_outputs(const EvalConfig& cfg, const std::vector<ItemResult>& done, const EvalSummary& sum,
                        const std::string& model_name, size_t n_generated) {
  int64_t new_tokens = 0;
  for (auto& r : done) new_tokens += r.new_tokens;
  json metrics = eval_metrics(done);
  metrics["model"] = model_name;
  metrics["generation"] = {{"new_tokens", new_tokens}};
  metrics["shard"] = fmt::format("{}/{}", cfg.shard_index, cfg.shard_count);
  metrics["failed_not_graded"] = sum.failed;
  fs_write_atomic((fs::path(cfg.out_dir) / "metrics.json").string(), metrics.dump(2) + "\n");
  json gen = {{"items_generated", (int64_t)n_generated},
              {"new_tokens", sum.generated},
              {"prompt_tokens", sum.prompt_tokens},
              {"seconds", sum.seconds},
              {"new_tokens_per_s", sum.new_tokens_per_s}};
  if (!cfg.endpoint.url.empty())
    gen["endpoint"] = {{"url", cfg.endpoint.url},
                       {"requests", sum.requests},
                       {"retries", sum.retries},
                       {"failed_not_graded", sum.failed}};
  fs_write_atomic((fs::path(cfg.out_dir) / "generation.json").string(), gen.dump(2) + "\n");
}
}  // namespace

EvalSummary eval_run(const EvalConfig& cfg) {
  kernels_init_threads(cfg.threads);
  TSFT_USAGE_CHECK(cfg.shard_count >= 1 && cfg.shard_index >= 0 && cfg.shard_index < cfg.shard_count,
                   "--shard {}/{}: expected i/n with 0 <= i < n", cfg.shard_index, cfg.shard_count);
  std::vector<Pending> all = read_problems(cfg);
  std::vector<Pending> mine;
  for (size_t i = 0; i < all.size(); i++)
    if ((int)(i % cfg.shard_count) == cfg.shard_index) mine.push_back(std::move(all[i]));
  // One writer per output directory; what a killed run left half-written (temp files) goes first.
  DirLock lock(cfg.out_dir, "tsft eval");
  fs_remove_stale_temps(cfg.out_dir);
  const std::string res_path = (fs::path(cfg.out_dir) / "results.jsonl").string();
  const std::string failed_path = (fs::path(cfg.out_dir) / "failed.jsonl").string();
  std::vector<ItemResult> done = eval_read_results(res_path);
  std::map<std::string, json> failed = read_failed(failed_path);
  const std::string fp_path = (fs::path(cfg.out_dir) / "eval_run.json").string();
  json fp = eval_fingerprint(cfg);
  if (!done.empty() || !failed.empty()) check_same_evaluation(cfg, fp, fp_path, done.size());
  fs_write_atomic(fp_path, fp.dump(2) + "\n");
  std::set<std::string> done_ids;
  for (auto& r : done) done_ids.insert(r.id);
  {  // rewrite without a torn tail so appends start on a clean line
    std::string clean;
    for (auto& r : done) clean += item_to_json(r).dump() + "\n";
    fs_write_atomic(res_path, clean);
  }
  std::set<std::string> mine_ids;
  for (auto& p : mine) mine_ids.insert(p.r.id);
  std::vector<Pending> todo;
  for (auto& p : mine)
    if (!done_ids.count(p.r.id)) todo.push_back(std::move(p));
  if (!cfg.quiet && !done.empty())
    log_info("resuming: {} items already graded, {} to go ({} failed at the endpoint last time)", done.size(),
             todo.size(), failed.size());

  EvalSummary sum;
  std::string model_name = cfg.endpoint.url.empty() ? cfg.model_dir : cfg.endpoint.model;
  if (!todo.empty()) {
    std::unique_ptr<GenSource> src = gen_source_make(cfg);
    model_name = src->model_name();
    auto t0 = std::chrono::steady_clock::now();
    generate_and_grade(cfg, *src, todo, done, failed, res_path, failed_path);
    sum.generated = src->stats.new_tokens;
    sum.prompt_tokens = src->stats.prompt_tokens;
    sum.requests = src->stats.requests;
    sum.retries = src->stats.retries;
    sum.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    sum.new_tokens_per_s = sum.seconds > 0 ? sum.generated / sum.seconds : 0;
  }
  // Failures of items this run no longer covers (another --limit / --shard) do not count here.
  for (auto it = failed.begin(); it != failed.end();)
    it = mine_ids.count(it->first) && !done_ids.count(it->first) ? std::next(it) : failed.erase(it);
  write_failed(failed_path, failed);
  sum.items = (int64_t)done.size();
  sum.failed = (int64_t)failed.size();
  write_eval_outputs(cfg, done, sum, model_name, todo.size());
  return sum;
}

}  // namespace tsft::eval
