// Errors: library code throws tsft::Error (never exit()); only the CLI turns failures into exit codes.
// TSFT_CHECK(cond, "fmt", args...) formats a message that names the file/line/field at fault in the
// user's input; the source location of the check is appended for developers.
#pragma once
#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace tsft {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// A command-line usage error (exit code 2 in the CLI).
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& what) : Error(what) {}
};

[[noreturn]] void error_throw(const char* src_file, int src_line, const std::string& msg);
[[noreturn]] void error_throw_usage(const std::string& msg);
// strerror-like text of an errno value (thread-safe).
std::string errno_text(int err);

}  // namespace tsft

#define TSFT_FAIL(...) ::tsft::error_throw(__FILE__, __LINE__, ::fmt::format(__VA_ARGS__))
#define TSFT_CHECK(cond, ...)                                                  \
  do {                                                                         \
    if (!(cond)) ::tsft::error_throw(__FILE__, __LINE__, ::fmt::format(__VA_ARGS__)); \
  } while (0)
#define TSFT_USAGE_CHECK(cond, ...)                                     \
  do {                                                                  \
    if (!(cond)) ::tsft::error_throw_usage(::fmt::format(__VA_ARGS__)); \
  } while (0)
