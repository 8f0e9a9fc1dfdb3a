#include "experiment/experiment_runner.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/jsonl.hpp"
#include "core/progress.hpp"

extern char** environ;

namespace tsft::exp_detail {
namespace fs = std::filesystem;

namespace {

// Runs `bin argv...` with stdout+stderr to `log` and waits; returns the wait status. The child is
// killed when this process dies (PR_SET_PDEATHSIG), so a `kill -9` of the experiment never leaves a
// stage writing into a directory the resumed experiment is about to clean and redo.
int spawn_and_wait(const std::string& bin, std::vector<std::string> args, const std::string& log) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t parent = getpid();
  pid_t pid = fork();
  TSFT_CHECK(pid >= 0, "cannot start {}: fork failed ({})", bin, std::strerror(errno));
  if (pid == 0) {  // only async-signal-safe calls until exec
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(126);
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0) _exit(126);
    execve(bin.c_str(), argv.data(), environ);
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    TSFT_CHECK(errno == EINTR, "waiting for {} failed ({})", bin, std::strerror(errno));
  return status;
}

}  // namespace

std::string Runner::eta() const {
  if (timed_all.second == 0) return "";
  double left = 0;
  for (auto& [k, n] : left_by_kind) {
    if (n <= 0) continue;
    auto t = timed_by_kind.find(k);
    if (t == timed_by_kind.end() && (k == "pretrain" || k == "train"))
      return fmt::format(", ETA after the first {} stage", k);
    const auto& [secs, runs] = t == timed_by_kind.end() ? timed_all : t->second;
    left += n * secs / runs;
  }
  return left < 90 ? fmt::format(", ETA ~{:.0f} s", left) : fmt::format(", ETA ~{:.0f} min", left / 60);
}

std::string Runner::stage(const std::string& name, std::string key, std::vector<std::string> args) {
  if (!engine_tag.empty() && !args.empty() &&
      (args[0] == "pretrain" || args[0] == "train" || args[0] == "eval")) {
    args.insert(args.end(), engine_args.begin(), engine_args.end());
    key = experiment_hash(key + engine_tag);
  }
  std::string dir = (fs::path(opt.out_dir) / name).string();
  if (dry) {
    plan(args.at(0), 1);
    return dir;
  }
  std::string marker = dir + "/.stage.json", pending = dir + "/.stage.pending";
  if (fs::exists(marker)) {
    json m = json_read_file(marker);
    if (m.value("key", "") == key) {
      std::error_code ec;  // a kill between writing the marker and removing .stage.pending left it
      fs::remove(pending, ec);
      timings[name] = m.value("seconds", 0.0);
      if (!opt.quiet) log_info("stage {}: cached {}", name, progress());
      finish(args.at(0));
      return dir;
    }
  }
  if (!opt.quiet) log_info("stage {}: running {}", name, progress());
  // An interrupted stage restarts clean, except an eval stage interrupted with the same key, which
  // resumes inside tsft eval. A stage whose inputs changed (another key) always starts clean.
  bool resume = name.rfind("eval", 0) == 0 && fs::exists(pending) && fs_read_text(pending) == key;
  if (!resume) fs_remove_dir(dir);
  fs::create_directories(dir);
  fs_write_atomic(pending, key);
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::string> full = {opt.tsft_bin};
  for (auto& a : args) full.push_back(a);
  std::string log = (fs::path(opt.out_dir) / "logs" / (fs::path(name).filename().string() + ".log")).string();
  fs::create_directories(fs::path(log).parent_path());
  int status = spawn_and_wait(opt.tsft_bin, full, log);
  TSFT_CHECK(!WIFEXITED(status) || WEXITSTATUS(status) != 127, "stage {}: cannot run {}; see {}", name,
             opt.tsft_bin, log);
  TSFT_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "stage {} failed (exit {}); see {}", name,
             WIFEXITED(status) ? WEXITSTATUS(status) : -1, log);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  fs::create_directories(dir);
  fs_write_atomic(marker, json{{"key", key}, {"seconds", secs}, {"args", args}}.dump(2) + "\n");
  fs::remove(pending);
  timings[name] = secs;
  for (auto* t : {&timed_by_kind[args[0]], &timed_all}) t->first += secs, t->second++;
  finish(args[0]);
  return dir;
}

}  // namespace tsft::exp_detail
