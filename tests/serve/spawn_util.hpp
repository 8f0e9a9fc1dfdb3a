// A child process (the tsft binary) with its stderr in a file: start, wait for a line, signal, reap.
#pragma once
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace tsft_test {

struct Child {
  pid_t pid = -1;
  std::string log;
  Child(const std::vector<std::string>& argv, const std::string& log_path) : log(log_path) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    if (posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ) != 0) pid = -1;
    posix_spawn_file_actions_destroy(&fa);
  }
  ~Child() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
  std::string read_log() const {
    std::ifstream f(log);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }
  // The port from "listening on http://127.0.0.1:PORT" (0 when it did not appear in time).
  int wait_port(double seconds = 30) {
    for (auto t0 = std::chrono::steady_clock::now();
         std::chrono::steady_clock::now() - t0 < std::chrono::duration<double>(seconds);) {
      std::string s = read_log();
      size_t p = s.find("listening on http://127.0.0.1:");
      if (p != std::string::npos && s.find('\n', p) != std::string::npos)
        return std::stoi(s.substr(p + std::string("listening on http://127.0.0.1:").size()));
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return 0;
  }
  // Exit code after SIGTERM (-1 when killed by a signal or not reaped in time).
  int terminate_and_wait(double seconds = 30) {
    kill(pid, SIGTERM);
    for (auto t0 = std::chrono::steady_clock::now();
         std::chrono::steady_clock::now() - t0 < std::chrono::duration<double>(seconds);) {
      int st = 0;
      if (waitpid(pid, &st, WNOHANG) == pid) {
        pid = -1;
        return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
  }
};

}  // namespace tsft_test
