// Kept out of unity builds (CMakeLists.txt): the generated header changes with every commit, and only this
// file should recompile then.
#include "core/build_info.hpp"

#include <fstream>

#include "tsft_build_git.hpp"  // generated: cmake/build_git.cmake

namespace tsft {

const char* build_git() {
  return TSFT_BUILD_GIT;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) != 0) continue;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) break;
    const size_t start = line.find_first_not_of(" \t", colon + 1);
    return start == std::string::npos ? "unknown" : line.substr(start);
  }
  return "unknown";
}

}  // namespace tsft
