// kill -9 anywhere, `tsft annotate`: run once uninterrupted against the scripted teacher
// (tests/annotate/teacher_server.hpp), then again in another directory killed with SIGKILL at 24 seeded
// random points and resumed after each kill until it finishes (kill_util.hpp, like the experiment, train
// and eval kill tests). After every kill no output file is torn (annotations.jsonl, the append-only
// cache, may end in a torn line, which the resumed run drops); at the end theorem.jsonl, vanilla.jsonl,
// problems.jsonl and rejected.jsonl are byte-identical to the uninterrupted run's, summary.json is too
// except its "this_run" block (requests and seconds of the last invocation only), and the cache holds
// the same records (in completion order, which two workers make timing-dependent).
//
// Kill points: 20 at a count of cache records, uniform over the reference's total, plus a random delay
// of up to one record's mean time; then 4 in the output-writing phase (the cache is complete and a temp
// file of an output exists), up to 60 ms after it began. The killed runs write their outputs under the
// tests' LD_PRELOAD interposer (slow_rename_preload.cc: each rename of a temp file sleeps 40 ms, so that
// phase lasts ~200 ms instead of ~1 ms), and the test checks that kills landed there.
#include <gtest/gtest.h>

#include <algorithm>

#include "annotate/teacher_server.hpp"
#include "kill_util.hpp"
#include "test_util.hpp"

using namespace tsft_test;
using namespace kill_test;

namespace {

// 30 GSM8K problems: every outcome the cache can record (accepted, and rejected for each reason, the
// wrong answer after a re-ask). Case names are unique: the cache key hashes the problem text.
std::vector<std::string> annotate_cases() {
  std::vector<std::string> cases;
  for (int i = 0; i < 26; i++) cases.push_back("valid" + std::to_string(i));
  const char* rejected[] = {"wrong", "unknown", "unparsable", "map"};
  for (int i = 0; i < 4; i++) cases.insert(cases.begin() + 3 + 7 * i, rejected[i]);
  return cases;
}

std::vector<std::string> annotate_args(const TempDir& t, const std::string& url, const std::string& out) {
  return {tsft_bin(),  "annotate", "--data",         t / "d.jsonl", "--format",  "gsm8k",     "--endpoint",
          url,         "--model",  "teacher",        "--out",       out,         "--retries", "1",
          "--timeout", "5",        "--http-retries", "2",           "--backoff", "0.01",      "--concurrency",
          "2",         "-q"};
}

// The cache's complete lines, sorted.
std::vector<std::string> sorted_lines(const std::string& path) {
  std::vector<std::string> v;
  std::istringstream in(tsft::fs_read_text(path));
  for (std::string l; std::getline(in, l);) v.push_back(l);
  std::sort(v.begin(), v.end());
  return v;
}

Compare annotate_compare(const fs::path& rel) {
  std::string name = rel.filename().string();
  if (name == "annotations.jsonl") return Compare::skip;  // compared as sorted lines
  if (name == "summary.json") return Compare::without_wall_times;
  return Compare::bytes;
}

}  // namespace

TEST(KillAnnotate, ResumesToTheSameOutputs) {
  TempDir t;
  const auto cases = annotate_cases();
  tsft::fs_write_atomic(t / "d.jsonl", teacher_dataset(cases));
  TeacherServer srv;  // one server for both runs: summary.json names its URL
  srv.delay_s = 0.02;
  const std::string ref = t / "ref", out = t / "out";
  auto t0 = std::chrono::steady_clock::now();
  Outcome o = run_with_kill(annotate_args(t, srv.url(), ref), t / "ref.log", nullptr, [] { return 0; });
  ASSERT_EQ(o.exit_code, 0) << tsft::fs_read_text(t / "ref.log");
  double secs = seconds_since(t0);
  auto has_temp = [&](const std::string& dir) {
    std::error_code ec;
    for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec))
      if (is_temp(it->path().filename())) return true;
    return false;
  };
  // Progress: cache records, plus one while an output is being written.
  auto progress = [&](const std::string& dir) {
    return
        [&, dir] { return (int64_t)count_lines_with(dir + "/annotations.jsonl", "\"key\"") + has_temp(dir); };
  };
  const int64_t records = progress(ref)();
  ASSERT_EQ(records, (int64_t)cases.size());
  std::cout << "reference annotate: " << secs << " s, " << records << " records\n";

  const uint64_t seed = kill_seed() + 4;
  auto ks = draw_kill_points(seed, 20, records - 1, kill_delay_ms(secs, records));
  std::mt19937_64 rng(seed);
  for (int i = 0; i < 4; i++)
    ks.push_back({records + 1, std::uniform_int_distribution<int>(0, 60)(rng), i % 2 == 1});
  auto killed_args = [&] {
    std::vector<std::string> a = slow_rename_env(".tsft-tmp-", 40);
    for (auto& x : annotate_args(t, srv.url(), out)) a.push_back(x);
    return a;
  };
  const size_t asked_ref = srv.total();
  t0 = std::chrono::steady_clock::now();
  int in_outputs = 0;  // kills that left a temp file of the output writes behind (removed by the rerun)
  auto after_kill = [&](size_t) { in_outputs += has_temp(out); };
  int landed = kill_and_resume(ks, out, t / "killed.log", killed_args, progress(out), {"annotations.jsonl"},
                               after_kill);
  std::cout << landed << " kills landed (" << in_outputs << " while writing the outputs); killed runs took "
            << seconds_since(t0) << " s, " << srv.total() - asked_ref
            << " teacher requests (uninterrupted: " << asked_ref << "); "
            << count_lines_with(t / "killed.log", "dropped a torn last line")
            << " torn cache lines dropped\n";
  EXPECT_GE(landed, 20);
  EXPECT_GE(in_outputs, 2) << "too few kills landed while the outputs were written";
  expect_same_tree(ref, out, "annotate", annotate_compare, {"this_run"});
  EXPECT_EQ(sorted_lines(out + "/annotations.jsonl"), sorted_lines(ref + "/annotations.jsonl"));
}
