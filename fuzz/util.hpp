// Shared helpers of the libFuzzer targets (fuzz_*.cpp).
//
// Contract checked by every target: a parser fed arbitrary bytes either succeeds or throws tsft::Error
// whose message names the input (file path or origin). Any other exception escapes and libFuzzer
// reports it as a crash, as it does for ASan/UBSan findings, leaks and timeouts.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tsft::fuzz {

// A per-process scratch directory (under $TMPDIR or /tmp), created on first use.
const std::string& scratch_dir();
// Write `data` to scratch_dir()/name (replacing it) and return the path.
std::string write_scratch(const std::string& name, std::string_view data);
// Run `fn`; a tsft::Error must mention `origin` (else abort with the message).
template <class Fn>
void expect_clean(const std::string& origin, Fn&& fn);
// Abort with `why` and the error text (a finding).
[[noreturn]] void finding(const char* why, const char* what);
inline std::string_view bytes(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace tsft::fuzz

#include "core/error.hpp"

template <class Fn>
void tsft::fuzz::expect_clean(const std::string& origin, Fn&& fn) {
  try {
    fn();
  } catch (const tsft::Error& e) {
    if (std::string_view(e.what()).find(origin) == std::string_view::npos)
      finding("tsft::Error does not name the input", e.what());
  }
}
