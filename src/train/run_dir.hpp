// The run directory's housekeeping for the trainer: the tokenizer files every save copies, and pruning
// old checkpoints. Both keep the directory readable at any instant (tests/reliability kill -9 test).
#pragma once
#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace tsft {

// Copies the tokenizer files next to `tok_path` into OUT/tokenizer/ (atomically; nothing is written
// when they are already there) and returns that directory. Saves copy from it rather than from the
// source, which may be a checkpoint of this run (--resume) that pruning deletes later.
std::string stage_tokenizer(const std::string& tok_path, const std::string& out_dir);
// Keeps the newest `keep` checkpoint-* directories of `out` (keep <= 0: all); each removed one is
// renamed away first, so it is never seen half-deleted.
void prune_checkpoints(const std::string& out, int keep);
// metrics.jsonl keeps the lines of steps <= `step` (a resumed run rewrites what followed; a torn last
// line from a kill is dropped).
void truncate_metrics(const std::string& path, int64_t step);
// CHECKPOINT/trainer_state.json, parsed and checked: every key a resume reads has its type (a hand-edited
// file is refused by file and key, not by nlohmann's bare type_error).
nlohmann::json trainer_state_read(const std::string& checkpoint_dir);
// One JSONL line, flushed; a failed write (disk full, file size limit) is an error naming the file.
void append_line(std::ofstream& out, const std::string& path, const nlohmann::json& j);

}  // namespace tsft
