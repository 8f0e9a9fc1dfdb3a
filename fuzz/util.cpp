#include "util.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace tsft::fuzz {

const std::string& scratch_dir() {
  static const std::string dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::string d = std::string(tmp && *tmp ? tmp : "/tmp") + "/tsft-fuzz-" + std::to_string(getpid());
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

std::string write_scratch(const std::string& name, std::string_view data) {
  std::string path = scratch_dir() + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), (std::streamsize)data.size());
  if (!out.good()) finding("cannot write scratch file", path.c_str());
  return path;
}

void finding(const char* why, const char* what) {
  std::fprintf(stderr, "FUZZ FINDING: %s\n%s\n", why, what);
  std::fflush(stderr);
  std::abort();
}

}  // namespace tsft::fuzz
