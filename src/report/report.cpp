#include "report/report.hpp"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <set>

#include "core/fs.hpp"
#include "data/instruct.hpp"
#include "report/claim_effects.hpp"
#include "report/report_data.hpp"
#include "report/report_svg.hpp"
#include "theorems/generate.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace tsft {

namespace {

std::string budget_sentence(const std::string& budget) {
  if (budget == "problems")
    return "Arms are compared at equal problems seen (one problem per row, the same number of rows per arm).";
  if (budget == "tokens")
    return "Arms are compared at equal supervised tokens (each arm stops once it has trained on the same "
           "number of "
           "target tokens).";
  if (budget == "converged")
    return "Arms are compared trained to convergence: each stops when its validation answer accuracy "
           "(greedy decoding of held-out training problems) stops improving, the same rule for every arm "
           "(never the arm's own target loss, whose scale depends on the target's length); every arm's "
           "weights are then chosen by the same rule, the saved checkpoint with the highest validation "
           "answer accuracy (ties: the earliest).";
  return "Arms are compared at equal optimizer steps (theorem targets are longer, so that arm sees more "
         "supervised "
         "tokens).";
}

std::string pct(double x) {
  return std::isfinite(x) ? fmt::format("{:.1f}", 100 * x) : "-";
}
std::string signed_pts(double x) {
  return std::isfinite(x) ? fmt::format("{:+.1f}", 100 * x) : "-";
}

// A table as both markdown and HTML.
struct Table {
  std::vector<std::string> head;
  std::vector<std::vector<std::string>> rows;
  std::string md() const {
    std::string s = "|";
    for (auto& h : head) s += " " + h + " |";
    s += "\n|";
    for (size_t i = 0; i < head.size(); i++) s += "---|";
    s += "\n";
    for (auto& r : rows) {
      s += "|";
      for (auto& c : r) s += " " + c + " |";
      s += "\n";
    }
    return s + "\n";
  }
  std::string html() const {
    std::string s = "<table><tr>";
    for (auto& h : head) s += "<th>" + html_escape(h) + "</th>";
    s += "</tr>";
    for (auto& r : rows) {
      s += "<tr>";
      for (auto& c : r) s += "<td>" + html_escape(c) + "</td>";
      s += "</tr>";
    }
    return s + "</table>\n";
  }
};

struct Doc {
  std::string md, html;
  void section(const std::string& t) {
    md += "## " + t + "\n\n";
    html += "<h2>" + html_escape(t) + "</h2>\n";
  }
  void para(const std::string& t) {
    md += t + "\n\n";
    html += "<p>" + html_escape(t) + "</p>\n";
  }
  void table(const Table& t) {
    md += t.md();
    html += t.html();
  }
  void svg(const std::string& s) { html += s; }
};

// How the base model was primed (issue 12 item 5): the corpus's worked examples and the instruct stage.
std::string base_sentence(const GenConfig& g, const json& cfg) {
  const json& in = cfg.contains("instruct") ? cfg["instruct"] : json::object();
  std::string style = in.value("style", std::string(data::kInstructStyleDefault));
  std::string instruct =
      in.value("steps", (int64_t)0) == 0
          ? "no instruct stage"
          : fmt::format("instruct stage in style {} ({})", style,
                        style == "neutral" ? "prose answers, neither arm's shape"
                                           : "\"lhs = rhs\" then \\boxed: the vanilla arm's shape");
  return fmt::format(
      "Base model: corpus worked examples {} the \"Known: ... Asked: ...\" restatement ([gen.corpus] "
      "restatement = {}) and {} each step's theorem (theorem_names = {}); {}.",
      g.corpus_restatement ? "carry" : "omit", g.corpus_restatement,
      g.corpus_theorem_names ? "name" : "do not name", g.corpus_theorem_names, instruct);
}

void claims_section(Doc& doc, const ReportData& d) {
  doc.section("Question and declared claims");
  doc.para(
      "Does supervision that shows how a theorem is invoked (premises, bindings, application) teach rules "
      "rather "
      "than instances? The claims below, their pools and decision rules were declared before any number (the "
      "[claims] table of the config; defaults in src/report/claims.hpp) and are printed here verbatim, "
      "before "
      "any result.");
  std::string decl = claims_declaration(d.claims, d.c1_pool, d.c2b_pool);
  doc.md += decl + "\n";
  doc.html += "<pre class='claims'>" + html_escape(decl) + "</pre>\n";
  const json& ex = d.experiment;
  if (d.real) {
    const json& rd = ex["config"]["real_data"];
    std::string roles =
        rd.contains("eval_roles") && !rd["eval_roles"].empty() ? rd["eval_roles"].dump() : "all \"other\"";
    doc.para(fmt::format(
        "Real data: base model {}, SFT data from the annotation run {} (theorem and vanilla arms over the "
        "same accepted problems), evaluation sets {} with the roles {} (declared in the config before "
        "results). C2a and C3 are decided on the \"in_distribution\" sets (the i.i.d. test here); C1 and "
        "C2b on GSM-Plus variants of a \"probes\" set whose originals are in-distribution items (pairs), "
        "each perturbation type counted as the probe it tests (src/experiment/real_roles.hpp); a claim "
        "without such items is not applicable. Runs: {} = SFT seeds {}; a run is the unit of analysis. {}",
        rd["base_model"].dump(), rd["annotated"].dump(), rd["eval_files"].dump(), roles, d.run_keys().size(),
        ex["sft_seeds"].dump(), budget_sentence(d.budget)));
    return;
  }
  GenConfig g = gen_config_load(d.dir + "/config.toml");
  doc.para(fmt::format(
      "Runs: {} = base seeds {} (init + pre-training + instruct) x SFT seeds {}; a run is the unit of "
      "analysis. "
      "Counterfactual split in C1: {}. Leakage: every stream shares one held-out predicate (generator seed "
      "{}); no "
      "evaluation item's values or question is a worked example in pre-training or SFT; step drills {} the "
      "arithmetic facts of evaluation items ([gen.corpus] step_drills_eval_facts = {}). {}",
      d.run_keys().size(), ex["base_seeds"].dump(), ex["sft_seeds"].dump(),
      d.counterfactual_in_c1 ? "in" : "out", g.seed, g.corpus_step_eval_facts ? "DO state" : "do not state",
      g.corpus_step_eval_facts ? "true" : "false", budget_sentence(d.budget)));
  doc.para(base_sentence(g, ex.contains("config") ? ex["config"] : json::object()));
}

void verdict_section(Doc& doc, const ReportData& d, const std::vector<ClaimResult>& claims) {
  doc.section("Verdicts");
  Table vt{{"claim", "verdict", "reason"}, {}};
  for (auto& c : claims)
    vt.rows.push_back({c.id + " " + c.title, c.decision.shown(), c.decision.reason + "."});
  doc.table(vt);
  std::vector<ForestRow> fr;
  for (auto& c : claims)
    for (auto& r : c.rows)
      fr.push_back({r.label + (r.fraction ? " (%)" : ""), r.e.est, r.e.lo, r.e.hi, r.margin, r.e.defined()});
  doc.svg(svg_forest(
      "Every claim's effect, 95% interval (points; fractions in %); red tick: decision threshold", fr));
  doc.section("Per-run effects");
  doc.para(
      "One row per run (base seed x SFT seed): the effects the verdicts summarize (points; C3 fractions in "
      "%).");
  Table rt{{"run"}, {}};
  for (auto& l : run_table_labels(claims)) rt.head.push_back(l);
  for (auto& row : run_table(d, claims)) {
    std::vector<std::string> cells = {fmt::format("b{} s{}", row.base_seed, row.sft_seed)};
    for (double v : row.values) cells.push_back(signed_pts(v));
    rt.rows.push_back(cells);
  }
  doc.table(rt);
}

// Controls and ablations, described beside the verdicts with the same per-run summaries.
void controls_section(Doc& doc, const ReportData& d) {
  std::vector<ControlRow> cs = control_effects(d);
  if (cs.empty()) return;
  doc.section("Controls and ablations");
  doc.para(
      "Not claims (nothing is decided here): each all-layer control or ablation arm against vanilla:all and "
      "theorem:all (accuracy difference in points, 95% interval over runs; one run: the clustered "
      "bootstrap), and its own conditional drop on the C1 pool. vanilla-matched: vanilla padded with the "
      "question to the theorem target's token count; answer-only: the box alone; theorem-no-statement / "
      "-no-cond / -no-map: the theorem target without its Theorem / Cond / Map lines.");
  Table t{{"arm", "effect", "estimate [95%]", "runs", "clusters"}, {}};
  for (auto& c : cs)
    for (auto& r : c.rows) {
      std::string v = !r.e.defined() ? "not measured"
                      : r.fraction   ? fmt::format("{} [{}, {}] %", pct(r.e.est), pct(r.e.lo), pct(r.e.hi))
                                     : fmt::format("{} [{}, {}]", signed_pts(r.e.est), signed_pts(r.e.lo),
                                                   signed_pts(r.e.hi));
      t.rows.push_back({c.arm, r.label, v, std::to_string(r.e.runs), std::to_string(r.e.n_items)});
    }
  doc.table(t);
}

// Accuracy of every arm on every split and probe, from the eval stage's metrics.json.
void accuracy_section(Doc& doc, const ReportData& d) {
  std::set<std::string> cols;
  for (auto& r : d.runs)
    for (auto& [k, v] : r.metrics["by_split"].items()) cols.insert(k);
  std::vector<std::string> colv(cols.begin(), cols.end()), names, short_cols;
  std::vector<std::vector<double>> vals;
  doc.section("Accuracy by split and probe");
  doc.para(
      "Accuracy (%) of every run on every split and probe, read from eval/<run>/metrics.json (the eval "
      "stage's "
      "grading). n per cell and Wilson intervals are in those files.");
  Table t{{"run"}, {}};
  for (auto& c : colv) short_cols.push_back(c.rfind("probe/", 0) == 0 ? c.substr(6) : c);
  for (auto& c : short_cols) t.head.push_back(c);
  for (auto& r : d.runs) {
    names.push_back(r.name);
    std::vector<double> row;
    std::vector<std::string> cells = {r.name};
    for (auto& c : colv) {
      const json& m = r.metrics["by_split"];
      double v = m.contains(c) ? m[c]["accuracy"].get<double>() : std::nan("");
      row.push_back(v);
      cells.push_back(pct(v));
    }
    vals.push_back(row);
    t.rows.push_back(cells);
  }
  doc.md += t.md();
  doc.svg(svg_heatmap("accuracy (%), run x split / probe", names, short_cols, vals));
}

void pairs_section(Doc& doc, const ReportData& d) {
  doc.section("Probe drops vs parent items");
  Table pt{{"run", "probe", "pairs", "parent acc", "variant acc", "cond. drop", "pair consistency",
            "answer copy", "premise flag"},
           {}};
  for (auto& r : d.runs) {
    if (r.trainable != "all") continue;
    for (auto& [probe, p] : r.metrics["pairs"].items()) {
      if (!p.contains("pairs")) continue;
      pt.rows.push_back({r.name, probe, std::to_string(p["pairs"].get<int>()), pct(p["parent_accuracy"]),
                         pct(p["variant_accuracy"]), pct(p.value("conditional_drop", std::nan(""))),
                         pct(p["pair_consistency"]), pct(p["answer_copy_rate"]),
                         p.contains("premise_flag_rate") ? pct(p["premise_flag_rate"]) : "-"});
    }
  }
  doc.para(
      "All-layer arms; P8/P9 (premise checks) and P10 (counterfactual rule) are reported here, outside the "
      "claim pools.");
  doc.table(pt);
}

void theorem_section(Doc& doc, const ReportData& d) {
  doc.section("Per-theorem breakdown");
  std::set<std::string> fams;
  std::vector<const ReportRun*> rs;
  for (auto& r : d.runs)
    if (r.sft_seed <= 1 && (r.sup == "base" || r.trainable == "all" || r.trainable == "mlp" ||
                            r.trainable == "attn" || r.trainable.rfind("lora-", 0) == 0)) {
      rs.push_back(&r);
      for (auto& [k, v] : r.metrics["by_theorem"].items()) fams.insert(k);
    }
  doc.para(
      "Accuracy (%) over every evaluated item of each theorem, from metrics.json (first SFT seed of each "
      "base).");
  Table t{{"theorem"}, {}};
  for (auto* r : rs) t.head.push_back(r->name);
  for (auto& f : fams) {
    std::vector<std::string> cells = {f};
    for (auto* r : rs) {
      const json& m = r->metrics["by_theorem"];
      cells.push_back(m.contains(f) ? pct(m[f]["accuracy"].get<double>()) : "-");
    }
    t.rows.push_back(cells);
  }
  doc.table(t);
}

std::string selected(const ReportRun& r) {
  if (!r.selection.is_object()) return "final";
  std::string lr = r.train_name.size() > r.name.size() ? r.train_name.substr(r.name.size() + 1) + " " : "";
  return lr + fmt::format("{} ({})", r.selection.value("selected", std::string("?")),
                          pct(r.selection.value("val_accuracy", 0.0)));
}

void training_section(Doc& doc, const ReportData& d) {
  doc.section("Training and validation curves");
  std::vector<Series> loss, val;
  for (auto& r : d.runs) {
    if (!r.curve.empty()) loss.push_back({r.name, r.curve});
    if (!r.val_curve.empty()) val.push_back({r.name, r.val_curve});
  }
  doc.svg(svg_curves("training loss per step", loss, "step"));
  if (!val.empty()) doc.svg(svg_curves("validation loss per evaluation", val, "step"));
  std::vector<Series> acc;  // validation answer accuracy of every saved checkpoint (model selection)
  for (auto& r : d.runs) {
    if (!r.selection.is_object()) continue;
    Series sr{r.name, {}};
    for (auto& c : r.selection["checkpoints"])
      sr.second.push_back({(double)std::stol(c["checkpoint"].get<std::string>().substr(11)),
                           c["val_accuracy"].get<double>()});
    acc.push_back(sr);
  }
  if (!acc.empty())
    doc.svg(svg_curves("validation answer accuracy per checkpoint (model selection)", acc, "step"));
  doc.para("Budget: " + budget_sentence(d.budget) +
           " An arm that stopped at its step cap with its best validation at the last evaluation is still "
           "improving: "
           "verdicts involving it are inconclusive.");
  Table tc{{"run", "steps", "stop", "still improving at cap", "trainable params", "supervised tokens",
            "last loss", "best val loss (step)", "selected (val answer acc)", "train-problem acc"},
           {}};
  for (auto& r : d.runs) {
    if (r.curve.empty()) continue;
    const json& su = r.summary;
    const json& m = r.metrics["by_split"];
    std::string fit = m.contains("train") ? pct(m["train"]["accuracy"].get<double>()) : "-";
    bool has = su.is_object();
    std::string best =
        has && su.value("best_val_loss", -1.0) >= 0
            ? fmt::format("{:.4f} ({})", su["best_val_loss"].get<double>(), su["best_step"].get<int64_t>())
            : "-";
    tc.rows.push_back(
        {r.name, has ? std::to_string(su.value("steps", (int64_t)0)) : "-",
         has ? su.value("stop_reason", std::string("-")) : "-", r.capped_improving() ? "yes" : "no",
         has && su.contains("trainable_params") ? std::to_string(su["trainable_params"].get<int64_t>()) : "-",
         has ? std::to_string(su.value("supervised_tokens", (int64_t)0)) : "-",
         fmt::format("{:.4f}", r.curve.back().second), best, selected(r), fit});
  }
  doc.table(tc);
}

void setup_section(Doc& doc, const ReportData& d) {
  doc.section("Setup");
  // Stage wall times are in timings.json, kept out of the report so that it is a function of the
  // results only (a resumed run's report is byte-identical to an uninterrupted run's).
  doc.md += "Stage wall times: `timings.json` (seconds per stage).\n\n";
  doc.html += "<p>Stage wall times: <code>timings.json</code> (seconds per stage).</p>";
  std::string vfile;
  for (auto& p : {"/pretrain/b1/versions.json", "/pretrain/versions.json"})
    if (vfile.empty() && fs::exists(d.dir + p)) vfile = d.dir + p;
  std::string versions = vfile.empty() ? "{}" : fs_read_text(vfile);
  std::string config = fs_read_text(d.dir + "/config.toml");
  doc.md += "Versions:\n\n```\n" + versions + "```\n\nConfig:\n\n```toml\n" + config + "```\n";
  doc.html += "<h3>Versions</h3><pre>" + html_escape(versions) + "</pre><h3>Config</h3><pre>" +
              html_escape(config) + "</pre>";
}

}  // namespace

std::string report_write(const std::string& dir) {
  ReportData d = report_load(dir);
  std::vector<ClaimResult> claims = claims_decide(d);
  Doc doc;
  doc.md += "# theorem-sft experiment report\n\n";
  doc.html +=
      "<!doctype html><html><head><meta charset='utf-8'><title>theorem-sft report</title><style>"
      "body{font-family:sans-serif;max-width:1000px;margin:2em "
      "auto}table{border-collapse:collapse;margin:1em 0}"
      "td,th{border:1px solid #bbb;padding:2px 6px;font-size:13px}th{background:#eee}"
      ".chart{display:block;margin:1em 0}pre.claims{white-space:pre-wrap}"
      "</style></head><body><h1>theorem-sft experiment report</h1>\n";
  claims_section(doc, d);
  verdict_section(doc, d, claims);
  controls_section(doc, d);
  accuracy_section(doc, d);
  pairs_section(doc, d);
  theorem_section(doc, d);
  training_section(doc, d);
  setup_section(doc, d);
  doc.html += "</body></html>\n";
  fs_write_atomic(dir + "/report.md", doc.md);
  fs_write_atomic(dir + "/report.html", doc.html);
  return dir + "/report.md";
}

}  // namespace tsft
