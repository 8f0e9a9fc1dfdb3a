// Fuzz reproducers as regression tests: each file under fuzz/regressions/<target>/ once crashed, hung or
// leaked in the parser named by <target> (see fuzz/README.md). The tests feed those exact bytes to the
// parser and expect a clean tsft::Error whose message holds every given part (file path, field, ...).
#pragma once
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <initializer_list>
#include <sstream>
#include <string>

#include "core/error.hpp"

namespace tsft::test {

inline std::string fuzz_regression(const std::string& target, const std::string& name) {
  return std::string(TSFT_SOURCE_DIR) + "/fuzz/regressions/" + target + "/" + name;
}

inline std::string fuzz_regression_bytes(const std::string& target, const std::string& name) {
  std::ifstream in(fuzz_regression(target, name), std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing reproducer " << fuzz_regression(target, name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// `fn` must throw tsft::Error (nothing else) with every one of `parts` in its message.
inline void expect_clean_error(const std::function<void()>& fn, std::initializer_list<std::string> parts) {
  try {
    fn();
    ADD_FAILURE() << "expected a tsft::Error";
  } catch (const tsft::Error& e) {
    for (const auto& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
  }
}

}  // namespace tsft::test
