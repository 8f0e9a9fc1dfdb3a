#include "tokenizer/bpe_trainer.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <queue>

#include "core/error.hpp"
#include "tokenizer/added_tokens.hpp"
#include "tokenizer/bpe.hpp"
#include "tokenizer/pretokenizer.hpp"
#include "tokenizer/text_util.hpp"

namespace tsft::tokenizer {

const std::string& bpe_split_pattern(const std::string& style) {
  static const std::string qwen =
      "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
      "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|"
      "\\s+(?!\\S)|\\s+";
  static const std::string llama3 =
      "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
      "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
  if (style == "qwen") return qwen;
  if (style == "llama3") return llama3;
  TSFT_FAIL("unknown pre-tokenizer style {:?} (qwen or llama3)", style);
}

using CountMap = std::unordered_map<std::string, int64_t, StringHash, std::equal_to<>>;  // pre-token -> count

struct BpeTrainer::Impl {
  SplitRegex split;
  AddedTokenMatcher specials;
  CountMap counts;
  int64_t n_words = 0;
  explicit Impl(const BpeTrainOptions& o) : split(bpe_split_pattern(o.style)) {
    std::vector<AddedToken> toks;
    for (size_t i = 0; i < o.special_tokens.size(); ++i) {
      AddedToken t;
      t.id = static_cast<int32_t>(i);
      t.content = o.special_tokens[i];
      t.special = true;
      toks.push_back(t);
    }
    specials = AddedTokenMatcher(std::move(toks));
  }
};

BpeTrainer::BpeTrainer(BpeTrainOptions opt) : opt_(std::move(opt)) {
  std::vector<std::string> seen;
  for (const auto& s : opt_.special_tokens) {
    TSFT_CHECK(!s.empty(), "special tokens: an empty special token");
    TSFT_CHECK(std::find(seen.begin(), seen.end(), s) == seen.end(), "special tokens: {:?} given twice", s);
    seen.push_back(s);
  }
  TSFT_CHECK(opt_.vocab_size >= static_cast<int32_t>(opt_.special_tokens.size()) + 256,
             "--vocab-size {} is below {} (special tokens + 256 bytes)", opt_.vocab_size,
             opt_.special_tokens.size() + 256);
  impl_ = new Impl(opt_);
}

BpeTrainer::~BpeTrainer() {
  delete impl_;
}

void BpeTrainer::add_text(std::string_view text) {
  std::vector<TextSegment> segs;
  impl_->specials.split(text, 0, segs);
  std::vector<std::pair<uint32_t, uint32_t>> words;
  for (const TextSegment& s : segs) {
    if (s.token_id >= 0) continue;
    std::string piece = opt_.nfc ? text_nfc(text.substr(s.begin, s.end - s.begin))
                                 : std::string(text.substr(s.begin, s.end - s.begin));
    words.clear();
    impl_->split.split(piece, words);
    for (auto [b, e] : words) {
      std::string_view w(piece.data() + b, e - b);
      auto it = impl_->counts.find(w);
      if (it == impl_->counts.end())
        impl_->counts.emplace(std::string(w), 1);
      else
        ++it->second;
      ++impl_->n_words;
    }
  }
}

namespace {
uint64_t pair_key(int32_t a, int32_t b) {
  return (static_cast<uint64_t>(a) << 32) | static_cast<uint32_t>(b);
}

// A pre-token as a symbol sequence, with its count; `stamp` marks the merge that last visited it.
struct Word {
  std::vector<int32_t> sym;
  int64_t count;
  int64_t stamp = -1;
};

// The merge state. Token ids: the k special tokens, then the 256 byte characters sorted by code point,
// then merges; tok_bytes holds the raw bytes of each non-special token (index id - k). pair_count is the
// count-weighted number of occurrences of each adjacent pair; where lists the words a pair may occur in
// (may repeat, may be stale).
struct MergeState {
  int32_t k = 0;
  std::vector<std::string> tok_bytes;
  BytesToId by_bytes;
  std::vector<Word> words;
  std::unordered_map<uint64_t, int64_t> pair_count;
  std::unordered_map<uint64_t, std::vector<int32_t>> where;
  const std::string& bytes_of(int32_t id) const { return tok_bytes[id - k]; }

  void add_pairs(int32_t wi, std::unordered_map<uint64_t, int64_t>& count) {
    const auto& s = words[wi].sym;
    for (size_t i = 0; i + 1 < s.size(); ++i) {
      uint64_t kk = pair_key(s[i], s[i + 1]);
      count[kk] += words[wi].count;
      auto& v = where[kk];
      if (v.empty() || v.back() != wi) v.push_back(wi);
    }
  }
};

MergeState merge_start(const CountMap& counts, int32_t k) {
  MergeState st;
  st.k = k;
  const auto& b2c = text_byte_to_char();
  std::vector<int> bytes_by_char(256);
  for (int b = 0; b < 256; ++b) bytes_by_char[b] = b;
  std::sort(bytes_by_char.begin(), bytes_by_char.end(), [&](int a, int b) { return b2c[a] < b2c[b]; });
  int32_t byte_id[256];
  for (int i = 0; i < 256; ++i) {
    byte_id[bytes_by_char[i]] = k + i;
    st.tok_bytes.push_back(std::string(1, static_cast<char>(bytes_by_char[i])));
    st.by_bytes.emplace(st.tok_bytes.back(), k + i);
  }
  st.words.reserve(counts.size());
  for (auto& [w, c] : counts) {
    Word word{{}, c};
    for (unsigned char ch : w) word.sym.push_back(byte_id[ch]);
    st.words.push_back(std::move(word));
  }
  for (int32_t wi = 0; wi < static_cast<int32_t>(st.words.size()); ++wi) st.add_pairs(wi, st.pair_count);
  return st;
}

// Max-heap of (count, pair), lazily revalidated. Ties: smaller merged string, then smaller left id.
struct Cand {
  int64_t count;
  uint64_t pair;
};
struct CandWorse {  // true when x ranks below y
  const MergeState* st;
  bool operator()(const Cand& x, const Cand& y) const {
    if (x.count != y.count) return x.count < y.count;
    int32_t xa = static_cast<int32_t>(x.pair >> 32), xb = static_cast<int32_t>(x.pair);
    int32_t ya = static_cast<int32_t>(y.pair >> 32), yb = static_cast<int32_t>(y.pair);
    std::string xs = st->bytes_of(xa) + st->bytes_of(xb), ys = st->bytes_of(ya) + st->bytes_of(yb);
    if (xs != ys) return xs > ys;
    return x.pair > y.pair;
  }
};
using CandHeap = std::priority_queue<Cand, std::vector<Cand>, CandWorse>;

// The token of merge (a, b): a new id, or the existing one when another split already made that string.
int32_t merge_token(MergeState& st, int32_t a, int32_t b, int32_t* vocab) {
  std::string merged = st.bytes_of(a) + st.bytes_of(b);
  if (auto it = st.by_bytes.find(merged); it != st.by_bytes.end()) return it->second;
  int32_t id = st.k + static_cast<int32_t>(st.tok_bytes.size());
  st.tok_bytes.push_back(merged);
  st.by_bytes.emplace(merged, id);
  ++*vocab;
  return id;
}

// Rewrites every word holding pair (a, b) with new_id and updates the pair counts by their net change,
// pushing the pairs that grew onto the heap (stale entries are revalidated when popped).
void merge_apply(MergeState& st, uint64_t pair, int32_t new_id, int64_t stamp, CandHeap& heap) {
  const int32_t a = static_cast<int32_t>(pair >> 32), b = static_cast<int32_t>(pair);
  std::vector<int32_t> touched = std::move(st.where[pair]);
  st.where.erase(pair);
  std::unordered_map<uint64_t, int64_t> delta;
  for (int32_t wi : touched) {
    Word& w = st.words[wi];
    if (w.stamp == stamp) continue;
    w.stamp = stamp;
    auto& s = w.sym;
    bool hit = false;
    for (size_t i = 0; i + 1 < s.size(); ++i)
      if (s[i] == a && s[i + 1] == b) hit = true;
    if (!hit) continue;
    for (size_t i = 0; i + 1 < s.size(); ++i) delta[pair_key(s[i], s[i + 1])] -= w.count;
    std::vector<int32_t> ns;
    ns.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
      if (i + 1 < s.size() && s[i] == a && s[i + 1] == b) {
        ns.push_back(new_id);
        ++i;
      } else {
        ns.push_back(s[i]);
      }
    }
    s.swap(ns);
    st.add_pairs(wi, delta);
  }
  for (auto& [p, d] : delta) {
    if (d == 0) continue;
    int64_t& c = st.pair_count[p];
    c += d;
    if (c <= 0)
      st.pair_count.erase(p);
    else if (d > 0)
      heap.push({c, p});
  }
  st.pair_count.erase(pair);
}

std::string trained_json(const BpeTrainOptions& opt, const MergeState& st,
                         const std::vector<std::pair<int32_t, int32_t>>& merges) {
  // tokenizer.json, in the layout and field order HF writes.
  using oj = nlohmann::ordered_json;
  oj added = oj::array();
  oj vocab_j = oj::object();
  for (int32_t i = 0; i < st.k; ++i) {
    added.push_back({{"id", i},
                     {"content", opt.special_tokens[i]},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", true}});
    vocab_j[opt.special_tokens[i]] = i;
  }
  for (size_t i = 0; i < st.tok_bytes.size(); ++i) {
    std::string s = text_bytes_to_bytelevel(st.tok_bytes[i]);
    if (!vocab_j.contains(s)) vocab_j[s] = st.k + static_cast<int32_t>(i);
  }
  oj merges_j = oj::array();
  for (auto [a, b] : merges)
    merges_j.push_back({text_bytes_to_bytelevel(st.bytes_of(a)), text_bytes_to_bytelevel(st.bytes_of(b))});
  oj byte_level = {
      {"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}};
  oj j;
  j["version"] = "1.0";
  j["truncation"] = nullptr;
  j["padding"] = nullptr;
  j["added_tokens"] = added;
  j["normalizer"] = opt.nfc ? oj{{"type", "NFC"}} : oj(nullptr);
  j["pre_tokenizer"] = {{"type", "Sequence"},
                        {"pretokenizers",
                         {{{"type", "Split"},
                           {"pattern", {{"Regex", bpe_split_pattern(opt.style)}}},
                           {"behavior", "Isolated"},
                           {"invert", false}},
                          byte_level}}};
  j["post_processor"] = byte_level;
  j["decoder"] = byte_level;
  j["model"] = {{"type", "BPE"},
                {"dropout", nullptr},
                {"unk_token", nullptr},
                {"continuing_subword_prefix", nullptr},
                {"end_of_word_suffix", nullptr},
                {"fuse_unk", false},
                {"byte_fallback", false},
                {"ignore_merges", false},
                {"vocab", vocab_j},
                {"merges", merges_j}};
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::strict) + "\n";
}
}  // namespace

std::string BpeTrainer::train(BpeTrainStats* stats) {
  MergeState st = merge_start(impl_->counts, static_cast<int32_t>(opt_.special_tokens.size()));
  CandHeap heap(CandWorse{&st});
  for (auto& [p, c] : st.pair_count) heap.push({c, p});
  std::vector<std::pair<int32_t, int32_t>> merges;
  int32_t vocab = st.k + 256;
  int64_t stamp = 0;
  while (vocab < opt_.vocab_size && !heap.empty()) {
    Cand top = heap.top();
    heap.pop();
    auto pc = st.pair_count.find(top.pair);
    int64_t cur = pc == st.pair_count.end() ? 0 : pc->second;
    if (cur != top.count) {  // stale entry: requeue with the current count
      if (cur > 0) heap.push({cur, top.pair});
      continue;
    }
    if (cur < std::max<int64_t>(opt_.min_frequency, 1)) break;
    int32_t a = static_cast<int32_t>(top.pair >> 32), b = static_cast<int32_t>(top.pair);
    int32_t new_id = merge_token(st, a, b, &vocab);
    merges.emplace_back(a, b);
    merge_apply(st, top.pair, new_id, ++stamp, heap);
  }
  if (stats) {
    stats->words = impl_->n_words;
    stats->distinct_words = static_cast<int64_t>(st.words.size());
    stats->merges = static_cast<int64_t>(merges.size());
    stats->vocab_size = vocab;
  }
  return trained_json(opt_, st, merges);
}

std::string bpe_trained_config_json(const BpeTrainOptions& opt) {
  auto has = [&](const char* t) {
    return std::find(opt.special_tokens.begin(), opt.special_tokens.end(), t) != opt.special_tokens.end();
  };
  using oj = nlohmann::ordered_json;
  oj c;
  if (has("<|im_start|>") && has("<|im_end|>")) {
    c["bos_token"] = nullptr;
    c["eos_token"] = "<|im_end|>";
    c["chat_template"] =
        "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + "
        "'<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% "
        "endif %}";
  } else if (has("<|start_header_id|>") && has("<|end_header_id|>") && has("<|eot_id|>")) {
    c["bos_token"] = has("<|begin_of_text|>") ? oj("<|begin_of_text|>") : oj(nullptr);
    c["eos_token"] = "<|eot_id|>";
    c["chat_template"] =
        "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
        "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + "
        "'<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ "
        "content }}"
        "{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' "
        "}}"
        "{% endif %}";
  } else {
    return "";
  }
  if (has("<|endoftext|>")) c["pad_token"] = "<|endoftext|>";
  c["tokenizer_class"] = "PreTrainedTokenizerFast";
  return c.dump(2) + "\n";
}

}  // namespace tsft::tokenizer
