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

struct BpeTrainer::Impl {
  SplitRegex split;
  AddedTokenMatcher specials;
  std::unordered_map<std::string, int64_t, StringHash, std::equal_to<>> counts;
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

std::string BpeTrainer::train(BpeTrainStats* stats) {
  // Token table: specials, then the 256 byte characters sorted by code point, then merges.
  std::vector<std::string> tok_bytes;  // raw bytes of each non-special token, indexed by id - k
  const int32_t k = static_cast<int32_t>(opt_.special_tokens.size());
  const auto& b2c = text_byte_to_char();
  std::vector<int> bytes_by_char(256);
  for (int b = 0; b < 256; ++b) bytes_by_char[b] = b;
  std::sort(bytes_by_char.begin(), bytes_by_char.end(), [&](int a, int b) { return b2c[a] < b2c[b]; });
  int32_t byte_id[256];
  for (int i = 0; i < 256; ++i) {
    byte_id[bytes_by_char[i]] = k + i;
    tok_bytes.push_back(std::string(1, static_cast<char>(bytes_by_char[i])));
  }
  auto bytes_of = [&](int32_t id) -> const std::string& { return tok_bytes[id - k]; };
  BytesToId by_bytes;
  for (int i = 0; i < 256; ++i) by_bytes.emplace(tok_bytes[i], k + i);

  // Words as symbol sequences with counts.
  struct Word {
    std::vector<int32_t> sym;
    int64_t count;
    int64_t stamp = -1;
  };
  std::vector<Word> words;
  words.reserve(impl_->counts.size());
  for (auto& [w, c] : impl_->counts) {
    Word word{{}, c};
    for (unsigned char ch : w) word.sym.push_back(byte_id[ch]);
    words.push_back(std::move(word));
  }
  auto key = [](int32_t a, int32_t b) { return (static_cast<uint64_t>(a) << 32) | static_cast<uint32_t>(b); };
  std::unordered_map<uint64_t, int64_t> pair_count;
  std::unordered_map<uint64_t, std::vector<int32_t>> where;  // pair -> words (may repeat, may be stale)
  for (int32_t wi = 0; wi < static_cast<int32_t>(words.size()); ++wi) {
    const auto& s = words[wi].sym;
    for (size_t i = 0; i + 1 < s.size(); ++i) {
      uint64_t kk = key(s[i], s[i + 1]);
      pair_count[kk] += words[wi].count;
      auto& v = where[kk];
      if (v.empty() || v.back() != wi) v.push_back(wi);
    }
  }
  // Max-heap of (count, pair), lazily revalidated. Ties: smaller merged string, then smaller left id.
  struct Cand {
    int64_t count;
    uint64_t pair;
  };
  auto worse = [&](const Cand& x, const Cand& y) {  // true when x ranks below y
    if (x.count != y.count) return x.count < y.count;
    int32_t xa = static_cast<int32_t>(x.pair >> 32), xb = static_cast<int32_t>(x.pair);
    int32_t ya = static_cast<int32_t>(y.pair >> 32), yb = static_cast<int32_t>(y.pair);
    std::string xs = bytes_of(xa) + bytes_of(xb), ys = bytes_of(ya) + bytes_of(yb);
    if (xs != ys) return xs > ys;
    return x.pair > y.pair;
  };
  std::priority_queue<Cand, std::vector<Cand>, decltype(worse)> heap(worse);
  for (auto& [p, c] : pair_count) heap.push({c, p});

  std::vector<std::pair<int32_t, int32_t>> merges;
  int32_t vocab = k + 256;
  int64_t stamp = 0;
  while (vocab < opt_.vocab_size && !heap.empty()) {
    Cand top = heap.top();
    heap.pop();
    auto pc = pair_count.find(top.pair);
    int64_t cur = pc == pair_count.end() ? 0 : pc->second;
    if (cur != top.count) {  // stale entry: requeue with the current count
      if (cur > 0) heap.push({cur, top.pair});
      continue;
    }
    if (cur < std::max<int64_t>(opt_.min_frequency, 1)) break;
    int32_t a = static_cast<int32_t>(top.pair >> 32), b = static_cast<int32_t>(top.pair);
    std::string merged = bytes_of(a) + bytes_of(b);
    int32_t new_id;
    if (auto it = by_bytes.find(merged); it != by_bytes.end()) {
      new_id = it->second;  // the same string reached by another split: no new token
    } else {
      new_id = k + static_cast<int32_t>(tok_bytes.size());
      tok_bytes.push_back(merged);
      by_bytes.emplace(merged, new_id);
      ++vocab;
    }
    merges.emplace_back(a, b);
    ++stamp;
    std::vector<int32_t> touched = std::move(where[top.pair]);
    where.erase(top.pair);
    std::unordered_map<uint64_t, int64_t> delta;
    for (int32_t wi : touched) {
      Word& w = words[wi];
      if (w.stamp == stamp) continue;
      w.stamp = stamp;
      auto& s = w.sym;
      bool hit = false;
      for (size_t i = 0; i + 1 < s.size(); ++i)
        if (s[i] == a && s[i + 1] == b) hit = true;
      if (!hit) continue;
      for (size_t i = 0; i + 1 < s.size(); ++i) delta[key(s[i], s[i + 1])] -= w.count;
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
      for (size_t i = 0; i + 1 < s.size(); ++i) {
        uint64_t kk = key(s[i], s[i + 1]);
        delta[kk] += w.count;
        auto& v = where[kk];
        if (v.empty() || v.back() != wi) v.push_back(wi);
      }
    }
    for (auto& [p, d] : delta) {
      if (d == 0) continue;
      int64_t& c = pair_count[p];
      c += d;
      if (c <= 0)
        pair_count.erase(p);
      else if (d > 0)
        heap.push({c, p});
    }
    pair_count.erase(top.pair);
  }

  // tokenizer.json, in the layout and field order HF writes.
  using oj = nlohmann::ordered_json;
  oj added = oj::array();
  oj vocab_j = oj::object();
  for (int32_t i = 0; i < k; ++i) {
    added.push_back({{"id", i},
                     {"content", opt_.special_tokens[i]},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", true}});
    vocab_j[opt_.special_tokens[i]] = i;
  }
  for (size_t i = 0; i < tok_bytes.size(); ++i) {
    std::string s = text_bytes_to_bytelevel(tok_bytes[i]);
    if (!vocab_j.contains(s)) vocab_j[s] = k + static_cast<int32_t>(i);
  }
  oj merges_j = oj::array();
  for (auto [a, b] : merges)
    merges_j.push_back({text_bytes_to_bytelevel(bytes_of(a)), text_bytes_to_bytelevel(bytes_of(b))});
  oj byte_level = {
      {"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}};
  oj j;
  j["version"] = "1.0";
  j["truncation"] = nullptr;
  j["padding"] = nullptr;
  j["added_tokens"] = added;
  j["normalizer"] = opt_.nfc ? oj{{"type", "NFC"}} : oj(nullptr);
  j["pre_tokenizer"] = {{"type", "Sequence"},
                        {"pretokenizers",
                         {{{"type", "Split"},
                           {"pattern", {{"Regex", bpe_split_pattern(opt_.style)}}},
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
  if (stats) {
    stats->words = impl_->n_words;
    stats->distinct_words = static_cast<int64_t>(words.size());
    stats->merges = static_cast<int64_t>(merges.size());
    stats->vocab_size = vocab;
  }
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::strict) + "\n";
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
