#include "core/error.hpp"

#include <cstring>

namespace tsft {

void error_throw(const char* src_file, int src_line, const std::string& msg) {
  const char* base = std::strstr(src_file, "src/");
  throw Error(fmt::format("{}  [{}:{}]", msg, base ? base : src_file, src_line));
}

void error_throw_usage(const std::string& msg) { throw UsageError(msg); }

}  // namespace tsft
