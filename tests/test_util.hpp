// Shared test helpers: fixture paths, temp dirs, running the CLI.
#pragma once
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>

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

}  // namespace tsft_test
