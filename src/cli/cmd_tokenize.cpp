// tsft tokenize --tokenizer FILE [--decode] [--add-special-tokens] [--skip-special-tokens]
// JSONL filter on stdin/stdout. Encode: {"text": s, ...} -> {"text": s, "ids": [...]} (no special tokens
// added unless asked). Decode: {"ids": [...], ...} -> {"ids": [...], "text": s}.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/command.hpp"
#include "core/error.hpp"
#include "core/jsonl.hpp"
#include "tokenizer/tokenizer.hpp"

namespace tsft::cli {
namespace cmd_tokenize {

struct TokenizeArgs {
  std::string tokenizer;
  bool decode = false, add_special = false, skip_special = false;
};

int run_tokenize(const TokenizeArgs& a) {
  tokenizer::Tokenizer tok(a.tokenizer);
  std::ios::sync_with_stdio(false);
  std::string out;
  jsonl_for_each(std::cin, "stdin", [&](JsonlRecord& rec) {
    const nlohmann::json& j = rec.value;
    const size_t n = rec.line;
    TSFT_CHECK(j.is_object(), "stdin line {}: expected a JSON object", n);
    nlohmann::ordered_json o;
    if (!a.decode) {
      TSFT_CHECK(j.contains("text") && j["text"].is_string(),
                 "stdin line {}: field \"text\" (string) missing", n);
      const std::string& text = j["text"].get_ref<const std::string&>();
      o["text"] = text;
      try {
        o["ids"] = tok.encode(text, a.add_special);
      } catch (const Error& e) {
        TSFT_FAIL("stdin line {}: field \"text\": {}", n, e.what());
      }
    } else {
      TSFT_CHECK(j.contains("ids") && j["ids"].is_array(), "stdin line {}: field \"ids\" (array) missing", n);
      std::vector<int32_t> ids;
      for (const auto& v : j["ids"]) {
        TSFT_CHECK(v.is_number_integer() && v.get<int64_t>() >= 0 && v.get<int64_t>() < tok.vocab_size(),
                   "stdin line {}: field \"ids\" holds {}, not a token id in [0, {})", n, v.dump(),
                   tok.vocab_size());
        ids.push_back(v.get<int32_t>());
      }
      o["ids"] = ids;
      try {
        o["text"] = tok.decode(ids, a.skip_special);
      } catch (const Error& e) {
        TSFT_FAIL("stdin line {}: field \"ids\": {}", n, e.what());
      }
    }
    out = o.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
    out += '\n';
    std::fwrite(out.data(), 1, out.size(), stdout);
  });
  std::fflush(stdout);
  return 0;
}

Action setup_tokenize(CLI::App& app) {
  auto a = std::make_shared<TokenizeArgs>();
  app.add_option("--tokenizer", a->tokenizer, "tokenizer.json (Hugging Face format)")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_flag("--decode", a->decode, "decode {\"ids\"} lines instead of encoding {\"text\"} lines");
  app.add_flag("--add-special-tokens", a->add_special,
               "encode: apply the post-processor's special tokens (e.g. BOS)");
  app.add_flag("--skip-special-tokens", a->skip_special, "decode: leave special tokens out of the text");
  return [a] { return run_tokenize(*a); };
}

}  // namespace cmd_tokenize
}  // namespace tsft::cli

TSFT_COMMAND(tokenize, "tokenize", "Encode JSONL {\"text\"} lines to ids on stdout (--decode: the inverse)",
             tsft::cli::cmd_tokenize::setup_tokenize);
