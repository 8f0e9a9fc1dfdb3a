// LD_PRELOAD interposer of the kill tests, built with the tests only (tests/CMakeLists.txt; production
// code has no test hooks): rename(2) of a path containing $TSFT_SLOW_RENAME_MATCH first sleeps
// $TSFT_SLOW_RENAME_MS milliseconds. Every atomic write of the project ends in a rename (a temp file
// into place, a temp checkpoint directory committed), so slowing the renames under a checkpoint's temp
// directory ("/.checkpoint-") holds the process inside the checkpoint write: a SIGKILL sent at a random
// time lands there often, and one sent when the temp directory appears lands there for sure.
#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <ctime>

extern "C" int rename(const char* from, const char* to) {
  using rename_fn = int (*)(const char*, const char*);
  static rename_fn real = reinterpret_cast<rename_fn>(dlsym(RTLD_NEXT, "rename"));
  const char* match = std::getenv("TSFT_SLOW_RENAME_MATCH");
  const char* ms = std::getenv("TSFT_SLOW_RENAME_MS");
  if (match && *match && ms && from && std::strstr(from, match)) {
    long v = std::atol(ms);
    timespec ts{v / 1000, (v % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
  }
  return real(from, to);
}
