#include "core/error.hpp"

#include <cstring>
#include <system_error>

namespace tsft {

void error_throw(const char* src_file, int src_line, const std::string& msg) {
  const char* base = std::strstr(src_file, "src/");
  throw Error(fmt::format("{}  [{}:{}]", msg, base ? base : src_file, src_line));
}

void error_throw_usage(const std::string& msg) { throw UsageError(msg); }

std::string errno_text(int err) {
  return std::error_code(err, std::generic_category()).message();
}

}  // namespace tsft
