#include "core/jsonl_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/error.hpp"
#include "core/fs.hpp"

namespace tsft {

namespace {
// Complete lines of `text` (up to its last '\n'), parsed; returns the byte length they span.
size_t parse_complete(const std::string& text, const std::string& path, std::vector<nlohmann::json>* out) {
  size_t end = text.rfind('\n');
  if (end == std::string::npos) return 0;
  size_t start = 0, no = 0;
  while (start <= end) {
    size_t nl = text.find('\n', start);
    std::string line = text.substr(start, nl - start);
    no++;
    start = nl + 1;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      nlohmann::json j = nlohmann::json::parse(line);
      if (out) out->push_back(std::move(j));
    } catch (const nlohmann::json::exception& e) {
      TSFT_FAIL("{}:{}: invalid JSON in a complete line ({}); the log is corrupt", path, no, e.what());
    }
  }
  return end + 1;
}
}  // namespace

JsonlLog::JsonlLog(const std::string& path, std::vector<nlohmann::json>* records) : path_(path) {
  std::string text = std::filesystem::exists(path) ? fs_read_text(path) : "";
  size_t good = parse_complete(text, path, records);
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  TSFT_CHECK(fd_ >= 0, "{}: cannot open for appending ({})", path, std::strerror(errno));
  if (good < text.size()) {
    torn_ = true;
    TSFT_CHECK(::ftruncate(fd_, (off_t)good) == 0, "{}: cannot drop the torn last line ({})", path,
               std::strerror(errno));
  }
}

JsonlLog::~JsonlLog() {
  if (fd_ >= 0) ::close(fd_);
}

void JsonlLog::append(const nlohmann::json& record) {
  std::string line = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::lock_guard<std::mutex> lk(mu_);
  for (size_t off = 0; off < line.size();) {
    ssize_t n = ::write(fd_, line.data() + off, line.size() - off);
    if (n < 0 && errno == EINTR) continue;
    TSFT_CHECK(n > 0, "{}: write failed ({})", path_, std::strerror(errno));
    off += (size_t)n;
  }
  TSFT_CHECK(::fdatasync(fd_) == 0, "{}: fdatasync failed ({})", path_, std::strerror(errno));
}

}  // namespace tsft
