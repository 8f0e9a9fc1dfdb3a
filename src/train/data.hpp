// Training data: chat / prompt-completion JSONL tokenized with the model's chat template (loss on
// assistant tokens + end-of-turn only), raw-text corpora for pre-training (every token supervised),
// and contamination-free packing into rows of at most `block` tokens with per-token document ids and
// restarted positions.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tokenizer/chat.hpp"
#include "tokenizer/tokenizer.hpp"

namespace tsft {

struct Example {
  std::string id;
  std::vector<int32_t> ids;
  std::vector<uint8_t> mask;   // mask[i] = 1: token i is a supervised target (predicted by token i-1)
  int64_t supervised() const;  // targets that count (mask[1..])
};

enum class Overlong { truncate, drop };

struct DataStats {
  int64_t examples = 0, tokens = 0, supervised = 0, truncated = 0, dropped = 0;
  std::vector<std::string> zero_supervised;  // ids of examples with no supervised token (warned)
};

struct DataOptions {
  int block = 512;  // tokens per row; longer examples are truncated or dropped
  Overlong overlong = Overlong::truncate;
  tokenizer::ChatOptions chat;  // template override etc.
};

// Chat JSONL ({"messages":[{"role","content"},...]}) or prompt/completion JSONL
// ({"prompt","completion"}: rendered as a user turn and an assistant turn). Optional "id". Errors name
// file, line and field. Warns (log) naming every example with zero supervised tokens; throws if all
// have none.
std::vector<Example> data_load_sft(const std::string& path, const tokenizer::Tokenizer& tok,
                                   const DataOptions& opt, DataStats* stats);
// Raw text: a .jsonl file with {"text": ...} per line, or any other file as plain text with documents
// separated by blank lines. Each document is BOS? + text + EOS, all supervised, split into chunks of
// `block` tokens (nothing is dropped).
std::vector<Example> data_load_text(const std::string& path, const tokenizer::Tokenizer& tok,
                                    const DataOptions& opt, DataStats* stats);

// One row of a micro-batch.
struct PackedRow {
  std::vector<int32_t> ids, targets, pos, doc;
};
// Best-fit decreasing packing of examples into rows of <= block tokens (deterministic); with
// packing=false every example is its own row. targets[i] = ids[i+1] when supervised, else -100; the
// last token of each document has no target, so no loss crosses documents.
std::vector<PackedRow> data_pack(const std::vector<Example>& examples, int block, bool packing);

// A micro-batch of B rows padded to the longest (padding: own doc id, target -100).
struct MicroBatch {
  int B = 0, T = 0;
  std::vector<int32_t> ids, targets, pos, doc;
  int64_t supervised = 0, tokens = 0;  // tokens excludes padding
};
MicroBatch data_make_batch(const std::vector<PackedRow>& rows, const std::vector<size_t>& which);

}  // namespace tsft
