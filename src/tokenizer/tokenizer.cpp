#include "tokenizer/tokenizer.hpp"

#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.hpp"
#include "tokenizer/bpe.hpp"
#include "tokenizer/pretokenizer.hpp"
#include "tokenizer/text_util.hpp"

namespace tsft::tokenizer {

using nlohmann::json;

namespace {
// GPT-2's pattern, used by a ByteLevel pre-tokenizer with use_regex=true.
constexpr const char* kGpt2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  TSFT_CHECK(f.good(), "cannot open {}", path);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

bool utf8_valid(std::string_view s) {
  size_t i = 0;
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  while (i < s.size()) {
    unsigned char c = b(i);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int need;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
      need = 1;
    else if (c >= 0xE0 && c <= 0xEF)
      need = 2, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4)
      need = 3, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    else
      return false;
    if (i + need >= s.size()) return false;
    for (int k = 1; k <= need; ++k) {
      unsigned char d = b(i + k);
      if (d < (k == 1 ? lo : 0x80) || d > (k == 1 ? hi : 0xBF)) return false;
    }
    i += need + 1;
  }
  return true;
}

// A special-token field of tokenizer_config.json: "str", {"content": "str", ...} or null.
std::string config_token(const json& cfg, const char* key) {
  if (!cfg.contains(key) || cfg[key].is_null()) return "";
  const json& v = cfg[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string())
    return v["content"].get<std::string>();
  return "";
}

// tokenizer_config.json's "chat_template": a string, or HF's list of named templates
// [{"name": ..., "template": ...}], of which the "default" one is used. Anything else names the file.
std::string config_chat_template(const json& ct, const std::string& path) {
  if (ct.is_null()) return "";
  if (ct.is_string()) return ct.get<std::string>();
  TSFT_CHECK(ct.is_array(), "{}: chat_template must be a string or a list of named templates, not {}", path,
             ct.type_name());
  for (const json& e : ct) {
    TSFT_CHECK(
        e.is_object() && e.contains("name") && e["name"].is_string() && e.contains("template") &&
            e["template"].is_string(),
        "{}: chat_template: every entry must be {{\"name\": string, \"template\": string}}, not {:.80}", path,
        e.dump());
    if (e["name"] == "default") return e["template"].get<std::string>();
  }
  return "";
}

// A token id: an integer in [0, 2^24). Real vocabularies stay below 2^18; the bound keeps a corrupt id
// (2e9) from allocating tables of that many strings, and int64 parsing keeps 2^32 + 1 from wrapping to 1.
int32_t token_id(const json& v, const std::string& what) {
  constexpr int64_t kMaxTokenId = int64_t(1) << 24;
  TSFT_CHECK(v.is_number_integer(), "{} is not an integer", what);
  const int64_t id =
      v.is_number_unsigned() ? (int64_t)std::min<uint64_t>(v.get<uint64_t>(), kMaxTokenId) : v.get<int64_t>();
  TSFT_CHECK(id >= 0 && id < kMaxTokenId, "{} = {} is out of range [0, {})", what, v.dump(), kMaxTokenId);
  return static_cast<int32_t>(id);
}

// Run `load` so that every failure names the file: a JSON value of the wrong type (json::exception) and
// errors raised deeper (the split regex, BPE merges) get the origin prefixed.
template <class Fn>
void with_origin(const std::string& origin, Fn&& load) {
  try {
    load();
  } catch (const json::exception& e) {
    TSFT_FAIL("{}: unexpected value: {}", origin, e.what());
  } catch (const Error& e) {
    if (std::string_view(e.what()).find(origin) != std::string_view::npos) throw;
    TSFT_FAIL("{}: {}", origin, e.what());
  }
}
}  // namespace

Tokenizer::Tokenizer() = default;
Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

Tokenizer::Tokenizer(const std::string& tokenizer_json) {
  path_ = tokenizer_json;
  with_origin(tokenizer_json, [&] { load_json(read_file(tokenizer_json), tokenizer_json); });
  load_config(std::filesystem::path(tokenizer_json).parent_path().string());
}

Tokenizer Tokenizer::from_json_text(const std::string& json_text, const std::string& origin) {
  Tokenizer t;
  t.path_ = origin;
  with_origin(origin, [&] { t.load_json(json_text, origin); });
  t.load_config("");
  return t;
}

void Tokenizer::load_json(const std::string& text, const std::string& origin) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    TSFT_FAIL("{}: invalid JSON: {}", origin, e.what());
  }
  TSFT_CHECK(j.is_object() && j.contains("model"), "{}: no \"model\" section", origin);
  load_bpe(j["model"], origin);
  load_added_tokens(j, origin);
  if (j.contains("normalizer")) load_normalizer(j["normalizer"], origin);
  std::string pattern;
  if (j.contains("pre_tokenizer")) load_pre_tokenizer(j["pre_tokenizer"], origin, pattern);
  if (!pattern.empty()) split_ = std::make_unique<SplitRegex>(pattern);
  if (j.contains("post_processor")) load_post_processor(j["post_processor"], origin);
  byte_level_decoder_ = !j.contains("decoder") || j["decoder"].is_null() ? false : true;
  if (byte_level_decoder_) {
    std::string type = j["decoder"].value("type", std::string());
    TSFT_CHECK(type == "ByteLevel", "{}: decoder type {:?} is not supported (ByteLevel only)", origin, type);
  }
}

// model: the BPE vocabulary and merges. Token strings are byte characters; the model works on the bytes
// they stand for.
void Tokenizer::load_bpe(const json& m, const std::string& origin) {
  TSFT_CHECK(m.value("type", std::string("BPE")) == "BPE", "{}: model.type {} is not supported (BPE only)",
             origin, m.value("type", std::string()));
  for (const char* k : {"continuing_subword_prefix", "end_of_word_suffix"})
    TSFT_CHECK(!m.contains(k) || m[k].is_null() || m[k] == "", "{}: model.{} is not supported", origin, k);
  TSFT_CHECK(!m.contains("dropout") || m["dropout"].is_null() || m["dropout"] == 0.0,
             "{}: model.dropout is not supported", origin);
  bool ignore_merges = m.value("ignore_merges", false);

  TSFT_CHECK(m.contains("vocab") && m["vocab"].is_object(), "{}: model.vocab missing", origin);
  BytesToId vocab;
  vocab.reserve(m["vocab"].size());
  int32_t max_id = -1;
  std::string bytes;
  std::vector<std::pair<int32_t, std::string>> model_tokens;
  model_tokens.reserve(m["vocab"].size());
  for (auto it = m["vocab"].begin(); it != m["vocab"].end(); ++it) {
    int32_t id = token_id(it.value(), fmt::format("{}: model.vocab[{:?}]", origin, it.key()));
    max_id = std::max(max_id, id);
    model_tokens.emplace_back(id, it.key());
  }
  id_to_token_.assign(max_id + 1, "");
  id_to_bytes_.assign(max_id + 1, "");
  for (auto& [id, tok] : model_tokens) {
    id_to_token_[id] = tok;
    if (!text_bytelevel_to_bytes(tok, bytes))
      bytes = tok;  // not a byte-level token: decodes as itself
    else
      vocab.emplace(bytes, id);
    id_to_bytes_[id] = bytes;
    token_to_id_.emplace(tok, id);
  }
  std::vector<std::pair<std::string, std::string>> merges;
  if (m.contains("merges")) {
    TSFT_CHECK(m["merges"].is_array(), "{}: model.merges is not an array", origin);
    merges.reserve(m["merges"].size());
    std::string a, b;
    size_t r = 0;
    for (const json& mg : m["merges"]) {
      std::string left, right;
      if (mg.is_string()) {
        const std::string& s = mg.get_ref<const std::string&>();
        size_t sp = s.find(' ');
        TSFT_CHECK(sp != std::string::npos && s.find(' ', sp + 1) == std::string::npos,
                   "{}: model.merges[{}] {:?} is not \"a b\"", origin, r, s);
        left = s.substr(0, sp), right = s.substr(sp + 1);
      } else {
        TSFT_CHECK(mg.is_array() && mg.size() == 2 && mg[0].is_string() && mg[1].is_string(),
                   "{}: model.merges[{}] is neither \"a b\" nor [\"a\", \"b\"]", origin, r);
        left = mg[0].get<std::string>(), right = mg[1].get<std::string>();
      }
      TSFT_CHECK(text_bytelevel_to_bytes(left, a) && text_bytelevel_to_bytes(right, b),
                 "{}: model.merges[{}] is not made of byte-level tokens", origin, r);
      merges.emplace_back(a, b);
      ++r;
    }
  }
  try {
    model_ = std::make_unique<BpeModel>(std::move(vocab), merges, ignore_merges);
  } catch (const Error& e) {
    TSFT_FAIL("{}: {}", origin, e.what());
  }
}

// added_tokens: ids past (or overriding) the model's, each cut out of the text before or after
// normalization (its "normalized" flag).
void Tokenizer::load_added_tokens(const json& j, const std::string& origin) {
  std::vector<AddedToken> raw, normalized;
  if (j.contains("added_tokens") && j["added_tokens"].is_array()) {
    size_t k = 0;
    for (const json& a : j["added_tokens"]) {
      TSFT_CHECK(a.contains("id") && a.contains("content"), "{}: added_tokens[{}] lacks id/content", origin,
                 k);
      AddedToken t;
      t.id = token_id(a["id"], fmt::format("{}: added_tokens[{}].id", origin, k));
      t.content = a["content"].get<std::string>();
      t.special = a.value("special", false);
      t.normalized = a.value("normalized", !t.special);
      t.lstrip = a.value("lstrip", false);
      t.rstrip = a.value("rstrip", false);
      t.single_word = a.value("single_word", false);
      TSFT_CHECK(t.id >= 0, "{}: added_tokens[{}].id is negative", origin, k);
      if (t.id >= static_cast<int32_t>(id_to_token_.size())) {
        id_to_token_.resize(t.id + 1);
        id_to_bytes_.resize(t.id + 1);
      }
      id_to_token_[t.id] = t.content;
      id_to_bytes_[t.id] = t.content;
      token_to_id_[t.content] = t.id;
      if (special_.size() < id_to_token_.size()) special_.resize(id_to_token_.size(), 0);
      special_[t.id] = t.special;
      (t.normalized ? normalized : raw).push_back(std::move(t));
      ++k;
    }
  }
  special_.resize(id_to_token_.size(), 0);
  vocab_size_ = static_cast<int32_t>(id_to_token_.size());
  raw_matcher_ = AddedTokenMatcher(std::move(raw));
  normalized_matcher_ = AddedTokenMatcher(std::move(normalized));
}

// normalizer: null, NFC, or a Sequence of those.
void Tokenizer::load_normalizer(const json& n, const std::string& origin) {
  if (n.is_null()) return;
  std::string type = n.value("type", std::string());
  if (type == "NFC") {
    nfc_ = true;
  } else if (type == "Sequence") {
    for (const json& s : n.at("normalizers")) load_normalizer(s, origin);
  } else {
    TSFT_FAIL("{}: normalizer type {:?} is not supported (NFC or none)", origin, type);
  }
}

// pre_tokenizer: Split (Isolated) and/or ByteLevel, possibly in a Sequence; at most one regex, returned
// in `pattern`.
void Tokenizer::load_pre_tokenizer(const json& p, const std::string& origin, std::string& pattern) {
  if (p.is_null()) return;
  std::string type = p.value("type", std::string());
  if (type == "Sequence") {
    for (const json& s : p.at("pretokenizers")) load_pre_tokenizer(s, origin, pattern);
  } else if (type == "Split") {
    TSFT_CHECK(p.value("behavior", std::string()) == "Isolated" && !p.value("invert", false),
               "{}: Split pre-tokenizer: only behavior Isolated without invert is supported", origin);
    TSFT_CHECK(pattern.empty(), "{}: more than one regex pre-tokenizer is not supported", origin);
    const json& pat = p.at("pattern");
    if (pat.contains("Regex")) {
      pattern = pat.at("Regex").get<std::string>();
    } else {
      std::string lit = pat.at("String").get<std::string>();
      pattern = "\\Q" + lit + "\\E";
    }
  } else if (type == "ByteLevel") {
    prefix_space_ = p.value("add_prefix_space", false);
    if (p.value("use_regex", true)) {
      TSFT_CHECK(pattern.empty(), "{}: more than one regex pre-tokenizer is not supported", origin);
      pattern = kGpt2Pattern;
    }
  } else {
    TSFT_FAIL("{}: pre_tokenizer type {:?} is not supported", origin, type);
  }
}

// post_processor: only TemplateProcessing changes ids (single-sequence template).
void Tokenizer::load_post_processor(const json& p, const std::string& origin) {
  if (p.is_null()) return;
  std::string type = p.value("type", std::string());
  if (type == "Sequence") {
    for (const json& s : p.at("processors")) load_post_processor(s, origin);
  } else if (type == "TemplateProcessing") {
    bool seen_a = false;
    for (const json& item : p.at("single")) {
      if (item.contains("Sequence")) {
        seen_a = true;
        continue;
      }
      std::string name = item.at("SpecialToken").at("id").get<std::string>();
      const json& st = p.at("special_tokens").at(name);
      for (const json& id : st.at("ids")) {  // range-checked before narrowing (2^32 + 5 is not 5)
        TSFT_CHECK(id.is_number_integer() && id.get<int64_t>() >= 0 && id.get<int64_t>() < vocab_size_,
                   "{}: post_processor special token {:?} has id {}, outside the vocabulary [0, {})", origin,
                   name, id.dump(), vocab_size_);
        (seen_a ? template_suffix_ : template_prefix_).push_back(id.get<int32_t>());
      }
    }
  } else if (type != "ByteLevel") {
    TSFT_FAIL("{}: post_processor type {:?} is not supported", origin, type);
  }
}

void Tokenizer::load_config(const std::string& dir) {
  std::string bos, eos;
  if (!dir.empty()) {
    std::filesystem::path cfg_path = std::filesystem::path(dir) / "tokenizer_config.json";
    if (std::filesystem::exists(cfg_path)) {
      json cfg;
      try {
        cfg = json::parse(read_file(cfg_path.string()));
      } catch (const json::exception& e) {
        TSFT_FAIL("{}: invalid JSON: {}", cfg_path.string(), e.what());
      }
      bos = config_token(cfg, "bos_token");
      eos = config_token(cfg, "eos_token");
      if (cfg.is_object() && cfg.contains("chat_template"))
        chat_template_ = config_chat_template(cfg["chat_template"], cfg_path.string());
    }
    std::filesystem::path jinja = std::filesystem::path(dir) / "chat_template.jinja";
    if (std::filesystem::exists(jinja)) chat_template_ = read_file(jinja.string());
  }
  auto find = [&](std::initializer_list<const char*> names) {
    for (const char* n : names)
      if (int32_t id = token_to_id(n); id >= 0) return id;
    return int32_t{-1};
  };
  bos_id_ = !bos.empty() ? token_to_id(bos) : find({"<|begin_of_text|>", "<s>"});
  eos_id_ = !eos.empty() ? token_to_id(eos) : find({"<|end_of_text|>", "<|endoftext|>", "</s>"});
  if (chat_template_.find("<|eot_id|>") != std::string::npos)
    eot_id_ = token_to_id("<|eot_id|>");
  else if (chat_template_.find("<|im_end|>") != std::string::npos)
    eot_id_ = token_to_id("<|im_end|>");
  else
    eot_id_ = find({"<|im_end|>", "<|eot_id|>"});
  if (eot_id_ < 0) eot_id_ = eos_id_;
}

int32_t Tokenizer::token_to_id(std::string_view token) const {
  auto it = token_to_id_.find(std::string(token));
  return it == token_to_id_.end() ? -1 : it->second;
}

const std::string& Tokenizer::id_to_token(int32_t id) const {
  TSFT_CHECK(id >= 0 && id < vocab_size_ && !(id_to_token_[id].empty() && id_to_bytes_[id].empty()),
             "token id {} is not in the vocabulary of {}", id, path_);
  return id_to_token_[id];
}

bool Tokenizer::is_special(int32_t id) const {
  return id >= 0 && id < vocab_size_ && special_[id];
}

const std::string& Tokenizer::token_bytes(int32_t id) const {
  id_to_token(id);  // range check
  return id_to_bytes_[id];
}

std::string Tokenizer::normalize(std::string_view text) const {
  return nfc_ ? text_nfc(text) : std::string(text);
}

void Tokenizer::encode_plain(std::string_view piece, uint32_t base, std::vector<int32_t>& ids,
                             std::vector<TokenOffsets>* offsets) const {
  std::string prefixed;
  if (prefix_space_ && !piece.empty() && piece[0] != ' ') {
    prefixed = " " + std::string(piece);
    piece = prefixed;
  }
  thread_local std::vector<std::pair<uint32_t, uint32_t>> words;
  words.clear();
  if (split_)
    split_->split(piece, words);
  else if (!piece.empty())
    words.emplace_back(0, static_cast<uint32_t>(piece.size()));
  int shift = prefixed.empty() ? 0 : 1;  // the added space maps onto the first character
  for (auto [b, e] : words) {
    size_t start = ids.size();
    model_->encode_word(piece.substr(b, e - b), ids);
    if (!offsets) continue;
    uint32_t pos = b;
    for (size_t k = start; k < ids.size(); ++k) {
      uint32_t len = static_cast<uint32_t>(id_to_bytes_[ids[k]].size());
      uint32_t lo = pos >= static_cast<uint32_t>(shift) ? pos - shift : 0;
      uint32_t hi = pos + len >= static_cast<uint32_t>(shift) ? pos + len - shift : 0;
      offsets->emplace_back(base + lo, base + hi);
      pos += len;
    }
  }
}

void Tokenizer::encode_impl(std::string_view text, std::vector<int32_t>& ids,
                            std::vector<TokenOffsets>* offsets) const {
  TSFT_CHECK(utf8_valid(text), "tokenizer {}: input text is not valid UTF-8", path_);
  std::vector<TextSegment> segs;
  raw_matcher_.split(text, 0, segs);
  for (const TextSegment& s : segs) {
    if (s.token_id >= 0) {
      ids.push_back(s.token_id);
      if (offsets) offsets->emplace_back(s.begin, s.end);
      continue;
    }
    std::string_view piece = text.substr(s.begin, s.end - s.begin);
    std::string norm;
    bool changed = false;
    if (nfc_ && !text_is_ascii(piece)) {
      norm = text_nfc(piece);
      changed = norm != piece;
      if (changed) piece = norm;
    }
    size_t first = offsets ? offsets->size() : 0;
    if (normalized_matcher_.empty()) {
      encode_plain(piece, s.begin, ids, offsets);
    } else {
      std::vector<TextSegment> sub;
      normalized_matcher_.split(piece, 0, sub);
      for (const TextSegment& t : sub) {
        if (t.token_id >= 0) {
          ids.push_back(t.token_id);
          if (offsets) offsets->emplace_back(s.begin + t.begin, s.begin + t.end);
        } else {
          encode_plain(piece.substr(t.begin, t.end - t.begin), s.begin + t.begin, ids, offsets);
        }
      }
    }
    if (offsets && changed)
      for (size_t k = first; k < offsets->size(); ++k) {
        (*offsets)[k].first = std::min((*offsets)[k].first, s.end);
        (*offsets)[k].second = std::min((*offsets)[k].second, s.end);
      }
  }
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  if (add_special_tokens) ids = template_prefix_;
  encode_impl(text, ids, nullptr);
  if (add_special_tokens) ids.insert(ids.end(), template_suffix_.begin(), template_suffix_.end());
  return ids;
}

std::vector<int32_t> Tokenizer::encode_with_offsets(std::string_view text,
                                                    std::vector<TokenOffsets>& offsets) const {
  std::vector<int32_t> ids;
  offsets.clear();
  encode_impl(text, ids, &offsets);
  return ids;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  std::string bytes;
  bool first = true;
  for (int32_t id : ids) {
    TSFT_CHECK(id >= 0 && id < vocab_size_ && !(id_to_token_[id].empty() && id_to_bytes_[id].empty()),
               "decode: token id {} is not in the vocabulary of {}", id, path_);
    if (skip_special_tokens && special_[id]) continue;
    if (byte_level_decoder_) {
      bytes += id_to_bytes_[id];
    } else {  // no decoder: tokens joined by spaces, as HF does
      if (!first) bytes += ' ';
      bytes += id_to_token_[id];
    }
    first = false;
  }
  return text_utf8_lossy(bytes);
}

}  // namespace tsft::tokenizer
