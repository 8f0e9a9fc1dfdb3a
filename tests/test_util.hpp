// Shared test helpers: fixture paths, temp dirs, running the CLI.
#pragma once
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/fs.hpp"

namespace tsft_test {

inline std::string fixtures() {
  const char* env = std::getenv("TSFT_FIXTURES");
  return env ? env : TSFT_FIXTURES_DIR;
}
inline std::string fixture(const std::string& rel) { return fixtures() + "/" + rel; }

// A fresh directory under the system temp dir, removed at scope exit.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    static std::mt19937_64 rng(std::random_device{}());
    path = std::filesystem::temp_directory_path() / ("tsft-test-" + std::to_string(rng()));
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string str() const { return path.string(); }
  std::string operator/(const std::string& rel) const { return (path / rel).string(); }
};

struct CmdResult {
  int exit_code = -1;
  std::string output;  // stdout + stderr
};
// Run a shell command, capturing stdout+stderr.
inline CmdResult run_cmd(const std::string& cmd) {
  CmdResult r;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  int st = pclose(p);
  r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}
inline std::string tsft_bin() {
  const char* env = std::getenv("TSFT_BIN");
  return env ? env : TSFT_TSFT_BIN;
}

// Every line of a finished JSONL file (none when the file is missing); a malformed line throws.
inline std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::istringstream in(std::filesystem::exists(path) ? tsft::fs_read_text(path) : "");
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.push_back(nlohmann::json::parse(l));
  return out;
}
// Complete lines only, for a file another process may be appending to: a torn last line is skipped.
inline std::vector<nlohmann::json> read_jsonl_complete(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::istringstream in(std::filesystem::exists(path) ? tsft::fs_read_text(path) : "");
  for (std::string l; std::getline(in, l);) {
    nlohmann::json j = nlohmann::json::parse(l, nullptr, false);
    if (!l.empty() && !j.is_discarded()) out.push_back(j);
  }
  return out;
}
// Every regular file under `dir`: relative path -> contents.
inline std::map<std::string, std::string> dir_snapshot(const std::string& dir) {
  namespace fs = std::filesystem;
  std::map<std::string, std::string> files;
  for (auto& p : fs::recursive_directory_iterator(dir))
    if (p.is_regular_file())
      files[fs::relative(p.path(), dir).string()] = tsft::fs_read_text(p.path().string());
  return files;
}
// The message of the exception `f` throws; "" when it throws none.
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace tsft_test
