// Generation speed (slow suite). Issue target: 1,000,000 problems in under 60 s on the 2-core machine.
// The full million takes ~40 s there (too long for a unit test), so it is a benchmark
// (bench/theorem_gen.cpp: `bench_theorem_gen`, ~1,000,300 problems); this test runs the same configuration
// at 1/10 scale, 100,000 problems (98,000 train + test, counterfactual, compositional, probes), against
// the same rate: under 6 s. Wall time on a shared machine is noisy: CPU time is printed too.
#include <gtest/gtest.h>

#include <chrono>
#include <ctime>

#include "util.hpp"

using namespace tsft;

TEST(GenSlow, HundredThousandProblemsUnderSixSeconds) {
  GenConfig c = tsft_test::small_config(98000, 1000, 400);
  c.probe_parents = 100;
  World w(tsft_test::catalog(), c);
  long n = 0, bytes = 0;
  auto t0 = std::chrono::steady_clock::now();
  std::clock_t c0 = std::clock();
  gen_stream(w, [&](const std::string&, const std::string& line) {
    ++n;
    bytes += (long)line.size() + 1;
  });
  double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double cpu = double(std::clock() - c0) / CLOCKS_PER_SEC;
  std::printf("generated %ld problems (%.1f MB JSONL) in %.2f s wall, %.2f s CPU: %.0f problems/s\n", n,
              bytes / 1e6, sec, cpu, n / sec);
  RecordProperty("seconds", std::to_string(sec));
  EXPECT_GE(n, 100000);
  EXPECT_LT(sec, 6.0);
}
