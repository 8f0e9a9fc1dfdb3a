// Progress for long stages: a bar with rate and ETA on a terminal, plain log lines otherwise
// (one every `log_every_s` seconds), and timestamped log lines.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

#include <fmt/format.h>

namespace tsft {

// "[HH:MM:SS] message" to stderr.
void log_line(const std::string& msg);
template <typename... Args>
void log_info(fmt::format_string<Args...> f, Args&&... args) {
  log_line(fmt::format(f, std::forward<Args>(args)...));
}

class Progress {
 public:
  Progress(std::string label, int64_t total, std::string unit = "it", double log_every_s = 10.0);
  // Advance to `done`; `extra` is appended (e.g. "loss 1.234").
  void update(int64_t done, const std::string& extra = "");
  void finish(const std::string& extra = "");

 private:
  std::string label_, unit_;
  int64_t total_, done_ = 0;
  bool tty_;
  double log_every_s_;
  std::chrono::steady_clock::time_point start_, last_print_;
};

}  // namespace tsft
