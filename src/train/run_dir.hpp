// The run directory's housekeeping for the trainer: the tokenizer files every save copies, and pruning
// old checkpoints. Both keep the directory readable at any instant (tests/reliability kill -9 test).
#pragma once
#include <string>

namespace tsft {

// Copies the tokenizer files next to `tok_path` into OUT/tokenizer/ (atomically; nothing is written
// when they are already there) and returns that directory. Saves copy from it rather than from the
// source, which may be a checkpoint of this run (--resume) that pruning deletes later.
std::string stage_tokenizer(const std::string& tok_path, const std::string& out_dir);
// Keeps the newest `keep` checkpoint-* directories of `out` (keep <= 0: all); each removed one is
// renamed away first, so it is never seen half-deleted.
void prune_checkpoints(const std::string& out, int keep);

}  // namespace tsft
