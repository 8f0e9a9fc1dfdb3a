// An append-only JSONL log that survives kill -9: each record is one write() of a full line followed by
// fdatasync, so a crash can only leave a torn last line (no trailing newline). Opening the log reads every
// complete line, drops a torn tail (truncating the file to the last newline, so later appends start on a
// fresh line) and reports it; an invalid complete line is an error naming file:line.
#pragma once
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/jsonl.hpp"

namespace tsft {

class JsonlLog {
 public:
  // Creates the file when missing; `records` receives the complete lines already there, each first
  // passed to `check` (which throws an error naming the line when a record is not what the caller wrote).
  JsonlLog(const std::string& path, std::vector<nlohmann::json>* records,
           const std::function<void(const JsonlRecord&)>& check = {});
  ~JsonlLog();
  JsonlLog(const JsonlLog&) = delete;
  JsonlLog& operator=(const JsonlLog&) = delete;

  void append(const nlohmann::json& record);  // thread-safe
  bool had_torn_tail() const { return torn_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
  bool torn_ = false;
  std::mutex mu_;
};

}  // namespace tsft
