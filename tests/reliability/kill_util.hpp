// Helpers of the kill -9 tests: run a tsft command and SIGKILL it at a chosen point, check that no
// output file is torn, and compare two output trees (byte for byte, or with wall-time fields removed).
// Used by tests/reliability (experiment, train, eval, gen, annotate) and tests/train.
#pragma once
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/fs.hpp"
#include "core/safetensors.hpp"

namespace kill_test {

namespace fs = std::filesystem;
using json = nlohmann::json;

// One kill point: once progress() reaches `target`, wait `delay_ms`, then SIGKILL the process alone
// (its children must die with it) or its whole process group.
struct KillPoint {
  int64_t target = 0;
  int delay_ms = 0;
  bool group = false;
};

// `n` kill points drawn from a seeded RNG: targets uniform in [0, max_target] (sorted, so the kills walk
// through the whole run), delays uniform in [0, max_delay_ms], process-alone and group kills alternating.
inline std::vector<KillPoint> draw_kill_points(uint64_t seed, int n, int64_t max_target, int max_delay_ms) {
  std::mt19937_64 rng(seed);
  std::vector<KillPoint> ks(n);
  for (auto& k : ks) {
    k.target = std::uniform_int_distribution<int64_t>(0, max_target)(rng);
    k.delay_ms = std::uniform_int_distribution<int>(0, max_delay_ms)(rng);
  }
  std::sort(ks.begin(), ks.end(), [](auto& a, auto& b) { return a.target < b.target; });
  for (size_t i = 0; i < ks.size(); i++) ks[i].group = i % 2 == 1;
  return ks;
}

// Starts argv in its own process group with stdout+stderr appended to `log`.
inline pid_t spawn(const std::vector<std::string>& args, const std::string& log) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0) _exit(126);
    execv(argv[0], argv.data());
    _exit(127);
  }
  setpgid(pid, pid);
  return pid;
}

struct Outcome {
  bool killed = false;
  int exit_code = -1;  // when it finished on its own
};

// Runs args, killing it at `k` (unless it finishes first; k == nullptr: runs to the end).
inline Outcome run_with_kill(const std::vector<std::string>& args, const std::string& log, const KillPoint* k,
                             const std::function<int64_t()>& progress) {
  pid_t pid = spawn(args, log);
  int status = 0;
  for (;;) {
    if (waitpid(pid, &status, WNOHANG) == pid)
      return {false, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)};
    if (k && progress() >= k->target) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(k->delay_ms));
  kill(k->group ? -pid : pid, SIGKILL);
  waitpid(pid, &status, 0);
  bool killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  std::ofstream(log, std::ios::app) << "[kill test] target " << k->target << " +" << k->delay_ms << " ms ("
                                    << (k->group ? "group" : "process")
                                    << "): " << (killed ? "killed" : "finished first") << " at progress "
                                    << progress() << "\n";
  if (killed) return {true, -1};
  return {false, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)};
}

// A temp file or directory of fs_write_atomic / fs_commit_dir (never read by any stage).
inline bool is_temp(const fs::path& rel) {
  for (auto& part : rel)
    if (part.string().find(".tsft-tmp") != std::string::npos ||
        part.string().find(".tsft-old") != std::string::npos)
      return true;
  return false;
}

inline size_t count_lines_with(const std::string& path, const std::string& needle) {
  std::ifstream in(path);
  std::string line;
  size_t n = 0;
  while (std::getline(in, line)) n += line.find(needle) != std::string::npos;
  return n;
}

// Files under `dir` that a reader could see torn: every *.json parses, every *.safetensors opens (header
// and sizes validated), every *.jsonl is whole lines of JSON -- except that an append-only log
// (metrics.jsonl of a training, results.jsonl of an evaluation) of an unfinished command may end in a
// torn line, which its readers drop. Returns one message per torn file.
inline std::vector<std::string> torn_files(const std::string& dir, const std::set<std::string>& appendable) {
  std::vector<std::string> bad;
  for (auto& e : fs::recursive_directory_iterator(dir)) {
    fs::path rel = fs::relative(e.path(), dir);
    if (!e.is_regular_file() || is_temp(rel) || *rel.begin() == "logs") continue;
    std::string p = e.path().string(), ext = e.path().extension().string();
    try {
      if (ext == ".json") {
        json j = json::parse(tsft::fs_read_text(p));
        (void)j;
      } else if (ext == ".safetensors") {
        (void)tsft::SafetensorsFile::open(p);
      } else if (ext == ".jsonl") {
        std::string text = tsft::fs_read_text(p);
        bool may_tear = appendable.count(e.path().filename().string()) > 0;
        if (!text.empty() && text.back() != '\n') {
          if (!may_tear) throw std::runtime_error("no newline at the end");
          text.erase(text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1);
        }
        std::istringstream in(text);
        std::string line;
        while (std::getline(in, line))
          if (!line.empty()) json::parse(line).is_null();
      }
    } catch (const std::exception& ex) {
      bad.push_back(rel.string() + ": " + ex.what());
    }
  }
  return bad;
}

// How one file is compared between the uninterrupted and the interrupted run.
enum class Compare { bytes, without_wall_times, skip };

// Removes wall-time fields from a JSON object (or every line of a JSONL file): the `keys`, and the
// modification times in an eval fingerprint's "model_files" ([name, size, mtime] entries).
inline std::string drop_wall_times(const std::string& text, bool lines, const std::set<std::string>& keys) {
  auto clean = [&](const std::string& s) {
    json j = json::parse(s);
    for (auto& k : keys) j.erase(k);
    if (j.contains("model_files"))
      for (auto& f : j["model_files"])
        if (f.is_array() && f.size() == 3) f.erase(2);
    return j.dump();
  };
  if (!lines) return clean(text);
  std::istringstream in(text);
  std::string line, out;
  while (std::getline(in, line))
    if (!line.empty()) out += clean(line) + "\n";
  return out;
}

struct TreeDiff {
  std::vector<std::string> differ, only_ref, only_run;
  size_t bytes = 0, without_wall = 0, skipped = 0;
};

inline TreeDiff compare_trees(const std::string& ref, const std::string& run,
                              const std::function<Compare(const fs::path&)>& how,
                              const std::set<std::string>& wall_keys) {
  TreeDiff d;
  std::map<std::string, Compare> ref_files, run_files;
  for (auto* side : {&ref, &run})
    for (auto& e : fs::recursive_directory_iterator(*side)) {
      fs::path rel = fs::relative(e.path(), *side);
      if (e.is_regular_file()) (side == &ref ? ref_files : run_files)[rel.string()] = how(rel);
    }
  for (auto& [rel, c] : ref_files) {
    if (c == Compare::skip) {
      d.skipped++;
      continue;
    }
    if (!run_files.count(rel)) {
      d.only_ref.push_back(rel);
      continue;
    }
    std::string a = tsft::fs_read_text(ref + "/" + rel), b = tsft::fs_read_text(run + "/" + rel);
    if (c == Compare::without_wall_times) {
      bool lines = fs::path(rel).extension() == ".jsonl";
      a = drop_wall_times(a, lines, wall_keys), b = drop_wall_times(b, lines, wall_keys);
      d.without_wall++;
    } else {
      d.bytes++;
    }
    if (a != b) d.differ.push_back(rel);
  }
  for (auto& [rel, c] : run_files)
    if (c != Compare::skip && !ref_files.count(rel)) d.only_run.push_back(rel);
  return d;
}

inline std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (auto& x : v) s += "  " + x + "\n";
  return s;
}

#ifdef TSFT_SLOW_RENAME_LIB
// argv prefix that runs a command under the tests' rename interposer (slow_rename_preload.cc): every
// rename(2) of a path containing `match` first sleeps `ms` milliseconds. (`env` execs the command in
// its own process, so the pid stays the command's.)
inline std::vector<std::string> slow_rename_env(const std::string& match, int ms) {
  const char* asan = std::getenv("ASAN_OPTIONS");  // a preload ahead of the ASan runtime is fine here
  return {"/usr/bin/env", std::string("LD_PRELOAD=") + TSFT_SLOW_RENAME_LIB,
          "TSFT_SLOW_RENAME_MATCH=" + match, "TSFT_SLOW_RENAME_MS=" + std::to_string(ms),
          std::string("ASAN_OPTIONS=") + (asan ? asan : "") + ":verify_asan_link_order=0"};
}
#endif

// The seed of every kill test: 20261203 unless TSFT_KILL_SEED says otherwise (printed, to explore other
// points and to reproduce a failure).
inline uint64_t kill_seed() {
  const char* s = std::getenv("TSFT_KILL_SEED");
  uint64_t seed = s ? std::strtoull(s, nullptr, 10) : 20261203;
  std::cout << "kill seed " << seed << " (TSFT_KILL_SEED)\n";
  return seed;
}

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Longest delay after a kill point's target is reached: the reference's mean time per unit of progress
// (so that most kills land before the next unit, and a few later).
inline int kill_delay_ms(double seconds, int64_t units) {
  return std::max(1, (int)(1000 * seconds / std::max<int64_t>(1, units)));
}

// Runs `args` killed at each point until one attempt finishes on its own (later points are not used),
// then to the end; checks for torn files under `out` after each kill (`appendable`: see torn_files) and
// calls `after_kill(i)` (e.g. to record what the kill interrupted). `args` is called before each attempt
// (e.g. to --resume from the last checkpoint). Returns the number of kills that landed.
inline int kill_and_resume(const std::vector<KillPoint>& ks, const std::string& out, const std::string& log,
                           const std::function<std::vector<std::string>()>& args,
                           const std::function<int64_t()>& progress, const std::set<std::string>& appendable,
                           const std::function<void(size_t)>& after_kill = nullptr) {
  int landed = 0;
  for (size_t i = 0; i <= ks.size(); i++) {
    const KillPoint* k = i < ks.size() ? &ks[i] : nullptr;
    Outcome o = run_with_kill(args(), log, k, progress);
    if (!o.killed) {
      EXPECT_EQ(o.exit_code, 0) << "attempt " << i << " failed; log:\n" << tsft::fs_read_text(log);
      return landed;
    }
    landed++;
    if (after_kill) after_kill(i);
    if (fs::exists(out)) {
      auto torn = torn_files(out, appendable);
      EXPECT_TRUE(torn.empty()) << "after kill " << i << " (target " << k->target << ", +" << k->delay_ms
                                << " ms):\n"
                                << join(torn);
    }
  }
  return landed;
}

// Every file of `run` equals the reference's (as `how` says), none missing, none extra.
inline void expect_same_tree(const std::string& ref, const std::string& run, const char* what,
                             const std::function<Compare(const fs::path&)>& how,
                             const std::set<std::string>& wall_keys) {
  TreeDiff d = compare_trees(ref, run, how, wall_keys);
  std::cout << what << ": " << d.bytes << " files byte-identical, " << d.without_wall
            << " identical without wall-time fields, " << d.skipped << " skipped\n";
  EXPECT_TRUE(d.differ.empty()) << what << ": files differ from the uninterrupted run:\n" << join(d.differ);
  EXPECT_TRUE(d.only_ref.empty()) << what << ": missing after the interrupted run:\n" << join(d.only_ref);
  EXPECT_TRUE(d.only_run.empty()) << what << ": extra files after the interrupted run:\n" << join(d.only_run);
  EXPECT_GT(d.bytes, 0u);
}

}  // namespace kill_test
