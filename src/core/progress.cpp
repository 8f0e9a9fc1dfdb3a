#include "core/progress.hpp"

#include <unistd.h>

#include <cstdio>
#include <ctime>

namespace tsft {

void log_line(const std::string& msg) {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  std::fprintf(stderr, "[%02d:%02d:%02d] %s\n", tm.tm_hour, tm.tm_min, tm.tm_sec, msg.c_str());
  std::fflush(stderr);
}

Progress::Progress(std::string label, int64_t total, std::string unit, double log_every_s)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total), tty_(isatty(STDERR_FILENO)),
      log_every_s_(log_every_s), start_(std::chrono::steady_clock::now()), last_print_(start_) {}

static std::string hms(double s) {
  if (!(s >= 0) || s > 1e7) return "--:--";
  int t = (int)(s + 0.5);
  return t >= 3600 ? fmt::format("{}:{:02d}:{:02d}", t / 3600, t / 60 % 60, t % 60)
                   : fmt::format("{:02d}:{:02d}", t / 60, t % 60);
}

void Progress::update(int64_t done, const std::string& extra) {
  done_ = done;
  auto now = std::chrono::steady_clock::now();
  double since = std::chrono::duration<double>(now - last_print_).count();
  bool last = done_ >= total_;
  if (tty_ ? (since < 0.1 && !last) : (since < log_every_s_ && !last)) return;
  last_print_ = now;
  double el = std::chrono::duration<double>(now - start_).count();
  double rate = el > 0 ? done_ / el : 0;
  double eta = rate > 0 ? (total_ - done_) / rate : -1;
  double frac = total_ > 0 ? std::min(1.0, (double)done_ / total_) : 0;
  if (tty_) {
    const int W = 28;
    int fill = (int)(frac * W);
    std::string bar = std::string(fill, '#') + std::string(W - fill, '.');
    std::fprintf(stderr, "\r%s [%s] %lld/%lld %.2f %s/s ETA %s %s\033[K", label_.c_str(), bar.c_str(),
                 (long long)done_, (long long)total_, rate, unit_.c_str(), hms(eta).c_str(), extra.c_str());
    std::fflush(stderr);
  } else {
    log_line(fmt::format("{} {}/{} ({:.0f}%) {:.2f} {}/s ETA {} {}", label_, done_, total_, 100 * frac, rate,
                         unit_, hms(eta), extra));
  }
}

void Progress::finish(const std::string& extra) {
  double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  if (tty_) std::fprintf(stderr, "\r\033[K");
  log_line(fmt::format("{} done: {} {} in {} {}", label_, done_, unit_, hms(el), extra));
}

}  // namespace tsft
