// Grading throughput (single thread): tsft grade's per-line work (JSON parse, extraction, equivalence,
// JSON write) on short answers, and on long model outputs. Plain main; prints answers/s.
//   build/.../bench/bench_grade [seconds] [short]
#include "eval/grade.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

namespace {

double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Returns answers per CPU second (the machine may be shared; wall-clock rate goes to `wall_rate`).
double bench(const std::vector<std::string>& lines, double seconds, int64_t& n_equal, double& wall_rate) {
  tsft::eval::EquivOptions opt;
  tsft::eval::GradeSummary summary;
  size_t done = 0;
  auto t0 = std::chrono::steady_clock::now();
  const double c0 = cpu_seconds();
  double el = 0;
  size_t bytes = 0;
  do {
    for (const auto& l : lines) bytes += tsft::eval::grade_jsonl_line(l, "bench", opt, summary).size();
    done += lines.size();
    el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  } while (el < seconds);
  n_equal = summary.equal;
  if (bytes == 0) std::abort();
  wall_rate = static_cast<double>(done) / el;
  return static_cast<double>(done) / (cpu_seconds() - c0);
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 2.0;
  // Short answers: typical bare gold vs short prediction pairs over the main categories.
  const std::vector<std::string> short_lines = {
      R"J({"gold": "\\frac{1}{2}", "pred": "0.5"})J",
      R"J({"gold": "72", "pred": "#### 72"})J",
      R"J({"gold": "3\\sqrt{2}", "pred": "\\sqrt{18}"})J",
      R"J({"gold": "(1,2)", "pred": "(1, 2)"})J",
      R"J({"gold": "x^2+2x+1", "pred": "(x+1)^2"})J",
      R"J({"gold": "\\frac{\\pi}{4}", "pred": "\\boxed{\\pi/4}"})J",
      R"J({"gold": "[1,2)", "pred": "(1,2)"})J",
      R"J({"gold": "1000", "pred": "1,000"})J",
      R"J({"gold": "C", "pred": "The answer is (C)."})J",
      R"J({"gold": "50\\%", "pred": "50"})J",
      R"J({"gold": "x=3", "pred": "3"})J",
      R"J({"gold": "\\{1,2\\}", "pred": "\\{2,1\\}"})J",
      R"J({"gold": "-5", "pred": "- 5"})J",
      R"J({"gold": "2", "pred": "\\boxed{3}"})J",
      R"J({"gold": "\\text{cannot be determined}", "pred": "There is not enough information."})J",
      R"J({"gold": "1 \\pm \\sqrt{19}", "pred": "\\boxed{1+\\sqrt{19}, 1-\\sqrt{19}}"})J",
  };
  std::string long_pred =
      "Let the side be $s$. By the Pythagorean theorem, $s^2 = 3^2 + 4^2 = 9 + 16 = 25$, so $s = 5$. "
      "The perimeter is then $3 + 4 + 5 = 12$ and the area is $\\frac{1}{2} \\cdot 3 \\cdot 4 = 6$. ";
  for (int i = 0; i < 3; ++i) long_pred += long_pred;
  long_pred += "Therefore the answer is $\\boxed{\\frac{12}{2}}$.";
  std::vector<std::string> long_lines = {nlohmann::json({{"gold", "6"}, {"pred", long_pred}}).dump()};
  int64_t eq = 0;
  double wall = 0;
  double short_rate = bench(short_lines, seconds, eq, wall);
  std::printf(
      "short answers: %.0f answers per CPU-second (%.0f per wall-second; single thread, %zu distinct "
      "pairs)\n",
      short_rate, wall, short_lines.size());
  if (argc > 2 && std::string(argv[2]) == "short") return 0;
  double long_rate = bench(long_lines, seconds, eq, wall);
  std::printf("long outputs (%zu chars): %.0f answers per CPU-second (%.0f per wall-second)\n",
              long_pred.size(), long_rate, wall);
  return 0;
}
