#include "core/jsonl_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/jsonl.hpp"

namespace tsft {

JsonlLog::JsonlLog(const std::string& path, std::vector<nlohmann::json>* records,
                   const std::function<void(const JsonlRecord&)>& check)
    : path_(path) {
  std::string text = std::filesystem::exists(path) ? fs_read_text(path) : "";
  size_t good = text.rfind('\n') + 1;  // bytes of the complete lines (npos + 1 == 0: none)
  std::istringstream complete(text.substr(0, good));
  jsonl_for_each(complete, path, [&](JsonlRecord& r) {
    if (check) check(r);
    if (records) records->push_back(std::move(r.value));
  });
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
