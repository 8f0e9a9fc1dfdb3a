// tsft grade --in FILE: grade JSONL lines {"gold": .., "pred": ..} (pred may be a whole model output).
// Writes the same lines with "extracted", "equal", "rule" added (to --out, else stdout) and a summary
// (accuracy with a Wilson 95% interval, counts per extraction rule) to stdout (stderr without --out).
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "cli/command.hpp"
#include "core/error.hpp"
#include "core/jsonl.hpp"
#include "eval/grade.hpp"

namespace tsft::cli {
namespace cmd_grade {

struct GradeArgs {
  std::string in, out, percent = "either";
  bool reject_unreduced = false, decimal_comma = false, ordered_lists = false, loose_brackets = false;
  double decimal_rel_tol = 1e-4;
};

int grade_run(const GradeArgs& a) {
  eval::EquivOptions opt;
  opt.percent = eval::percent_policy_parse(a.percent);
  opt.allow_unreduced = !a.reject_unreduced;
  opt.decimal_comma = a.decimal_comma;
  opt.ordered_lists = a.ordered_lists;
  opt.strict_brackets = !a.loose_brackets;
  TSFT_USAGE_CHECK(a.decimal_rel_tol >= 0 && a.decimal_rel_tol < 1, "--decimal-rel-tol must be in [0, 1)");
  opt.decimal_rel_tol = a.decimal_rel_tol;
  std::ifstream in(a.in, std::ios::binary);
  TSFT_CHECK(in, "cannot open '{}'", a.in);
  std::ofstream out_file;
  if (!a.out.empty()) {
    out_file.open(a.out + ".tmp", std::ios::binary);
    TSFT_CHECK(out_file, "cannot write '{}'", a.out + ".tmp");
  }
  std::ostream& out = a.out.empty() ? std::cout : out_file;
  eval::GradeSummary summary;
  std::string buf;
  const auto t0 = std::chrono::steady_clock::now();
  jsonl_for_each_line(in, [&](std::string_view line, size_t lineno) {
    buf += eval::grade_jsonl_line(line, a.in + ":" + std::to_string(lineno), opt, summary);
    buf += '\n';
    if (buf.size() > (1 << 20)) {
      out << buf;
      buf.clear();
    }
  });
  out << buf;
  out.flush();
  TSFT_CHECK(out.good(), "write failed");
  if (!a.out.empty()) {
    out_file.close();
    TSFT_CHECK(std::rename((a.out + ".tmp").c_str(), a.out.c_str()) == 0, "cannot rename to '{}'", a.out);
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  nlohmann::json s = eval::grade_summary_json(summary);
  s["seconds"] = secs;
  s["policy"] = {{"percent", a.percent},
                 {"unreduced_fractions", a.reject_unreduced ? "reject" : "allow"},
                 {"decimal_comma", a.decimal_comma},
                 {"decimal_rel_tol", opt.decimal_rel_tol},
                 {"lists", a.ordered_lists ? "ordered" : "unordered"},
                 {"interval_brackets", a.loose_brackets ? "ignored" : "strict"}};
  std::fprintf(a.out.empty() ? stderr : stdout, "%s\n", s.dump(2).c_str());
  return 0;
}

Action grade_setup(CLI::App& app) {
  auto a = std::make_shared<GradeArgs>();
  app.add_option("--in", a->in, "JSONL with \"gold\" and \"pred\" per line")->required();
  app.add_option("--out", a->out, "graded JSONL (default: stdout; summary then goes to stderr)");
  app.add_option("--percent", a->percent, "percent policy: either (default) | strip | divide");
  app.add_flag("--reject-unreduced", a->reject_unreduced, "an unreduced fraction (2/4) is wrong (PRM800K)");
  app.add_flag("--decimal-comma", a->decimal_comma, "read 1,22 as 1.22");
  app.add_option("--decimal-rel-tol", a->decimal_rel_tol,
                 "relative tolerance for a decimal vs an exact value (default 1e-4)");
  app.add_flag("--ordered-lists", a->ordered_lists, "bare comma lists are ordered");
  app.add_flag("--loose-brackets", a->loose_brackets, "ignore bracket types of tuples/intervals (Qwen)");
  return [a] { return grade_run(*a); };
}

TSFT_COMMAND(grade, "grade", "grade predictions against gold answers (extraction + equivalence)",
             grade_setup);

}  // namespace cmd_grade
}  // namespace tsft::cli
