// tsft experiment CONFIG.toml --out DIR: catalog -> report in one command. Each stage runs a tsft
// subcommand (so every arrow of the data flow is a file a user can inspect and rerun alone) and is
// cached by a content hash of its inputs: a stage whose DIR/<stage>/.stage.json holds the same key is
// skipped, so re-running after an interruption redoes only unfinished stages.
//
// Stages: gen -> tokenizer -> init -> pretrain -> [instruct-data -> instruct] -> per seed: {render arm, train
// arm, eval arm}, eval base -> analyze (theorem/vanilla all-layer arms: weight deltas + mlp/attn delta
// transplants, each evaluated like an arm) -> report.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace tsft {

struct ExperimentOptions {
  std::string config_path, out_dir;
  std::string tsft_bin;  // the binary to run stages with (default: this process's executable)
  bool quiet = false;
};

// Runs (or resumes) the experiment; returns the path of report.md.
std::string experiment_run(const ExperimentOptions& opt);

// Content hash used for stage keys (FNV-1a 64 over the bytes), as 16 hex digits.
std::string experiment_hash(const std::string& bytes);

// The first n non-empty lines of a JSONL file (newline-terminated).
std::string experiment_head_lines(const std::string& path, int64_t n);
// A JSONL file split into (all but the last `tail` non-empty lines, the last `tail` lines); errors if
// the file does not have more than `tail` lines.
std::pair<std::string, std::string> experiment_split_tail(const std::string& path, int64_t tail);

}  // namespace tsft
