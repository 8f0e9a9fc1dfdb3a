#pragma once
// Provenance of a run: what built this binary and where it runs (written to every run's versions.json).
#include <string>

namespace tsft {

// The checkout this binary was built from: `git describe --always --dirty` at build time ("-dirty": the
// working tree had uncommitted changes; "unknown": not built from a git checkout).
const char* build_git();
// The CPU this process runs on: the "model name" of /proc/cpuinfo ("unknown" if unreadable).
std::string cpu_model();

}  // namespace tsft
