// Theorem-world generation speed (issue 5: 1,000,000 problems in under 60 s on the 2-core machine).
// Default configuration = the million: 983,000 train, 1,000 test, 4,000 counterfactual,
// 4,000 compositional, probes of 1,000 test parents (~1,000,300 problems). Generates with gen_stream
// (serializing every problem to its JSONL line, not writing it) or, with --out DIR, gen_run (files as
// `tsft gen` writes them). Prints one JSON line: wall and CPU (user, sys) seconds, problems/s, load.
//   bench_theorem_gen [--train 983000] [--test 1000] [--extra 4000] [--parents 1000] [--seed 1]
//                     [--format open|mc] [--out DIR]
// The same measurement through the CLI: /usr/bin/time tsft gen --config <file with these sizes> --out DIR
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "theorems/generate.hpp"

using namespace tsft;

namespace {
double cpu_seconds(bool user) {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  const timeval& t = user ? u.ru_utime : u.ru_stime;
  return t.tv_sec + t.tv_usec * 1e-6;
}
std::string loadavg() {
  std::ifstream f("/proc/loadavg");
  std::string a;
  f >> a;
  return a.empty() ? "?" : a;
}
}  // namespace

int main(int argc, char** argv) {
  long train = 983000, test = 1000, extra = 4000, parents = 1000, seed = 1;
  std::string format = "open", out;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--train") train = std::atol(v.c_str());
    else if (k == "--test") test = std::atol(v.c_str());
    else if (k == "--extra") extra = std::atol(v.c_str());
    else if (k == "--parents") parents = std::atol(v.c_str());
    else if (k == "--seed") seed = std::atol(v.c_str());
    else if (k == "--format") format = v;
    else if (k == "--out") out = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
  }
  GenConfig c;
  c.seed = (uint64_t)seed;
  c.format = format;
  c.sizes = {{"train", train}, {"test", test}, {"counterfactual", extra}, {"compositional", extra}};
  c.probe_parents = parents;
  std::string load0 = loadavg();
  double u0 = cpu_seconds(true), s0 = cpu_seconds(false);
  auto t0 = std::chrono::steady_clock::now();
  World w(catalog_load(catalog_default_dir()), c);
  long n = 0, bytes = 0;
  if (out.empty()) {
    gen_stream(w, [&](const std::string&, const std::string& line) {
      ++n;
      bytes += (long)line.size() + 1;
    });
  } else {
    auto man = gen_run(w, out, false);
    for (auto& [k, v] : man["counts"].items()) n += v.value("total", 0L);
  }
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double user = cpu_seconds(true) - u0, sys = cpu_seconds(false) - s0;
  std::printf("{\"problems\": %ld, \"jsonl_mb\": %.1f, \"wall_s\": %.2f, \"user_s\": %.2f, \"sys_s\": %.2f, "
              "\"problems_per_s\": %.0f, \"written\": %s, \"load_before\": \"%s\", \"load_after\": \"%s\"}\n",
              n, bytes / 1e6, wall, user, sys, n / wall, out.empty() ? "false" : "true", load0.c_str(),
              loadavg().c_str());
  return 0;
}
