// Whole-run generation: splits in parallel chunks (OpenMP; every item depends only on its own seed, so
// output is identical for any thread count), leakage rejection against train, probes of test items,
// manifest with counts.
#include <fmt/format.h>
#include <omp.h>

#include <filesystem>
#include <fstream>
#include <unordered_set>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "theorems/generate.hpp"

namespace tsft {
namespace {

uint64_t text_hash(const std::string& s) {
  return catalog_fnv1a(s.data(), s.size());
}

struct Made {
  bool ok = false, cbd = false;
  std::string id, line, family, error;
  uint64_t hash = 0, numbers = 0;
  Recipe recipe;
  std::string question, answer;
  int dropped = 0;                 // attempts rejected for leakage
  std::vector<std::string> facts;  // solution facts (kept only when the caller reserves them)
};

// Runs make(i) for i in [0, n) in parallel chunks and hands results to take() in index order.
template <class Make, class Take>
void run_chunked(long n, Make make, Take take) {
  const long chunk = 4096;
  std::vector<Made> buf;
  for (long start = 0; start < n; start += chunk) {
    long m = std::min(chunk, n - start);
    buf.assign(m, Made());
#pragma omp parallel for schedule(dynamic, 16)
    for (long i = 0; i < m; ++i) {
      try {
        buf[i] = make(start + i);
      } catch (const std::exception& e) {
        buf[i].error = e.what();
      }
    }
    for (long i = 0; i < m; ++i) {
      TSFT_CHECK(buf[i].error.empty(), "generation failed: {}", buf[i].error);
      take(start + i, buf[i]);
    }
  }
}

// keep: also hold the recipe, question and answer (test items may become probe parents).
Made finish(Problem& p, bool keep = true, bool facts = false) {
  Made m;
  if (facts)
    for (auto& st : p.steps)
      for (auto& l : st.exec)
        if (std::string f = exec_line_fact(l); !f.empty()) m.facts.push_back(std::move(f));
  m.ok = true;
  m.cbd = p.cbd;
  m.family = p.family;
  m.hash = text_hash(p.question);
  m.numbers = p.numbers_key;
  m.line.reserve(2048);
  problem_write_json(p, m.line);
  if (keep) {
    m.question = std::move(p.question);
    m.answer = std::move(p.answer);
    m.recipe = std::move(p.recipe);
  }
  return m;
}

}  // namespace

nlohmann::json gen_stream(const World& w,
                          const std::function<void(const std::string&, const std::string&)>& sink,
                          EvalReserved* reserved) {
  const GenConfig& cfg = w.config();
  nlohmann::json man;
  man["seed"] = cfg.seed;
  man["catalog_hash"] = w.catalog().hash;
  man["format"] = cfg.format;
  man["theorems"] = nlohmann::json::array();
  for (int t : w.active()) man["theorems"].push_back(w.catalog().theorems[t].id);
  man["chain_pairs"] = {{"train", w.train_pairs().size()}, {"heldout", w.heldout_pairs().size()}};
  std::unordered_set<uint64_t> train_text, train_numbers;
  auto inc = [](nlohmann::json& j, const std::string& k, long by) {
    if (!j.is_object()) j = nlohmann::json::object();
    j[k] = j.value(k, 0L) + by;
  };
  auto reserve = [&](const Made& m) {
    if (!reserved) return;
    reserved->numbers.insert(m.numbers);
    reserved->questions.insert(m.hash);
    reserved->facts.insert(m.facts.begin(), m.facts.end());
  };
  auto count = [&](const std::string& key, const Made& m) {
    auto& c = man["counts"][key];
    inc(c, "total", 1);
    inc(c["by_theorem"], m.family, 1);
    if (m.cbd) inc(c, "cannot_be_determined", 1);
  };
  // Train.
  long n_train = cfg.sizes.at("train");
  run_chunked(
      n_train,
      [&](long i) {
        Problem p = w.realize(w.draw("train", i, 0));
        p.id = fmt::format("train-{:07d}", i);
        p.split = "train";
        return finish(p, false);
      },
      [&](long, Made& m) {
        train_text.insert(m.hash);
        train_numbers.insert(m.numbers);
        count("train", m);
        sink("train", m.line);
      });
  // Evaluation splits: redraw any item whose text equals a train text.
  std::vector<Made> parents;
  for (std::string split : {"test", "counterfactual", "compositional"}) {
    long n = cfg.sizes.at(split);
    if (split == "compositional" && w.heldout_pairs().empty() && n > 0) {
      man["counts"][split]["unavailable"] = "no held-out chain pairs among the selected theorems";
      n = 0;
    }
    run_chunked(
        n,
        [&](long i) {
          Made m;
          for (int a = 0; a < 64; ++a) {
            Problem p = w.realize(w.draw(split, i, a));
            if (train_text.count(text_hash(p.question))) {
              ++m.dropped;
              continue;
            }
            p.id = fmt::format("{}-{:07d}", split, i);
            p.split = split;
            if (split == "test") p.values_seen_in_train = train_numbers.count(p.numbers_key) ? 1 : 0;
            int d = m.dropped;
            m = finish(p, true, reserved != nullptr);
            m.dropped = d;
            return m;
          }
          return m;
        },
        [&](long i, Made& m) {
          inc(man["counts"][split], "redrawn_for_leakage", m.dropped);
          if (!m.ok) return;
          count(split, m);
          reserve(m);
          if (split == "test")
            inc(man["counts"][split], "values_seen_in_train", (long)train_numbers.count(m.numbers));
          sink(split, m.line);
          if (split == "test" && (long)parents.size() < cfg.probe_parents && !m.cbd) {
            Made keep;
            keep.recipe = m.recipe;
            keep.question = m.question;
            keep.answer = m.answer;
            keep.id = fmt::format("test-{:07d}", i);
            keep.numbers = m.numbers;
            parents.push_back(std::move(keep));
          }
        });
  }
  // Probes: one variant per (parent, type) where meaningful.
  for (const std::string& type : cfg.probes) {
    if (type == "P12" && cfg.format != "mc") continue;
    std::string key = "probe_" + type;
    long skipped = 0, failed = 0;
    run_chunked((long)parents.size(),
                [&](long k) {
                  const Made& par = parents[k];
                  Made m;
                  int th = par.recipe.parts.back().th;
                  if (!w.probe_supported(th, type)) return m;
                  for (int a = 0; a < 24; ++a) {
                    Recipe r;
                    if (!w.probe(par.recipe, type, a, r)) continue;
                    Problem p = w.realize(r);
                    if (p.question == par.question || train_text.count(text_hash(p.question))) continue;
                    if (type == "P12" && p.answer == par.answer) continue;
                    if (type == "P2" && train_numbers.count(p.numbers_key)) continue;
                    p.id = par.id + "-" + type;
                    p.split = "probe/" + type;
                    p.parent_id = par.id;
                    p.perturbation = type;
                    return finish(p, true, reserved != nullptr);
                  }
                  m.dropped = 1;
                  return m;
                },
                [&](long k, Made& m) {
                  if (!m.ok) {
                    (m.dropped ? failed : skipped)++;
                    return;
                  }
                  count(key, m);
                  reserve(m);
                  sink(key, m.line);
                });
    man["counts"][key]["not_meaningful"] = skipped;
    man["counts"][key]["unavailable"] = failed;
    if (!man["counts"][key].contains("total")) man["counts"][key]["total"] = 0;
  }
  man["probe_parents"] = parents.size();
  // Probe support per theorem, with reasons (the catalog's exceptions).
  for (int t : w.active()) {
    const auto& th = w.catalog().theorems[t];
    for (auto& type : cfg.probes) {
      std::string why;
      if (!w.probe_supported(t, type, &why)) man["probe_exceptions"][th.id][type] = why;
    }
  }
  return man;
}

nlohmann::json gen_run(const World& w, const std::string& out_dir, bool with_corpus) {
  namespace fs = std::filesystem;
  // One writer per output directory; what a killed run left half-written (temp files) goes first.
  DirLock lock(out_dir, "tsft gen");
  fs_remove_stale_temps(out_dir);
  fs::create_directories(fs::path(out_dir) / "problems");
  // Every file is written atomically once complete: a killed gen never leaves a torn problems file.
  std::map<std::string, std::string> files;
  auto sink = [&](const std::string& name, const std::string& line) { files[name] += line + '\n'; };
  EvalReserved reserved;
  nlohmann::json man = gen_stream(w, sink, &reserved);
  man["files"] = nlohmann::json::array();
  for (auto& [name, text] : files) {
    fs_write_atomic((fs::path(out_dir) / "problems" / (name + ".jsonl")).string(), text);
    man["files"].push_back("problems/" + name + ".jsonl");
  }
  if (with_corpus) {
    std::string corpus = gen_corpus(w, reserved);
    fs_write_atomic((fs::path(out_dir) / "corpus.jsonl").string(), corpus);
    long docs = (long)std::count(corpus.begin(), corpus.end(), '\n');
    man["corpus"] = {{"file", "corpus.jsonl"}, {"documents", docs}, {"bytes", corpus.size()}};
  }
  fs_write_atomic((fs::path(out_dir) / "manifest.json").string(), man.dump(2) + "\n");
  return man;
}

}  // namespace tsft
