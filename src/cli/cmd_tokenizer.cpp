// tsft tokenizer train --corpus FILE... --vocab-size N [--special-tokens A,B,...] [--style qwen|llama3]
//                      [--min-frequency N] [--no-nfc] [--text-field NAME] --out DIR/tokenizer.json
// Trains a byte-level BPE tokenizer (tokenizer/bpe_trainer.hpp) and writes a Hugging Face tokenizer.json;
// when the output is named tokenizer.json and the special tokens form a ChatML or Llama-3 set, a
// tokenizer_config.json with the matching chat template is written beside it.
// tsft tokenizer chat --tokenizer FILE [--chat-template NAME|FILE.jinja] [--add-generation-prompt]
//                     [--no-thinking] [--date-string D]
// JSONL filter: {"messages": [{"role", "content"[, "reasoning_content"]}...]} lines on stdin ->
// {"text", "ids", "assistant_mask"} (the rendering and per-token SFT mask of tokenizer/chat.hpp).
// Corpus files: .jsonl -> each line's "text" field (--text-field), or, when absent, every string in the
// line except "role" values (chat records); any other file -> each line of text (newline included).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/command.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/jsonl.hpp"
#include "tokenizer/bpe_trainer.hpp"
#include "tokenizer/chat.hpp"
#include "tokenizer/tokenizer.hpp"

namespace tsft::cli {
namespace cmd_tokenizer {

struct TrainArgs {
  std::vector<std::string> corpus, special_tokens;
  int32_t vocab_size = 0;
  std::string style = "qwen", out, text_field = "text";
  int64_t min_frequency = 2;
  bool no_nfc = false;
};

void add_json_strings(const nlohmann::json& j, tokenizer::BpeTrainer& t, const std::string& key = "") {
  if (j.is_string()) {
    if (key != "role") t.add_text(j.get_ref<const std::string&>());
  } else if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) add_json_strings(it.value(), t, it.key());
  } else if (j.is_array()) {
    for (const auto& v : j) add_json_strings(v, t, key);
  }
}

int run_train(const TrainArgs& a) {
  tokenizer::BpeTrainOptions opt;
  opt.vocab_size = a.vocab_size;
  opt.special_tokens = a.special_tokens;
  opt.style = a.style;
  opt.min_frequency = a.min_frequency;
  opt.nfc = !a.no_nfc;
  tokenizer::bpe_split_pattern(opt.style);  // validates --style
  tokenizer::BpeTrainer trainer(opt);
  for (const std::string& path : a.corpus) {
    if (std::filesystem::path(path).extension() == ".jsonl") {
      jsonl_for_each(path, [&](JsonlRecord& rec) {
        if (rec.value.is_object() && rec.value.contains(a.text_field))
          trainer.add_text(rec.str(a.text_field.c_str()));
        else
          add_json_strings(rec.value, trainer);
      });
      continue;
    }
    std::ifstream f(path, std::ios::binary);
    TSFT_CHECK(f.good(), "--corpus {}: cannot open", path);
    for (std::string line; std::getline(f, line);) trainer.add_text(line + '\n');
  }
  tokenizer::BpeTrainStats stats;
  std::string json = trainer.train(&stats);
  std::filesystem::path out(a.out);
  if (out.has_parent_path()) std::filesystem::create_directories(out.parent_path());
  fs_write_atomic(a.out, json);
  std::string cfg = tokenizer::bpe_trained_config_json(opt);
  if (out.filename() == "tokenizer.json" && !cfg.empty()) {
    std::string dir = out.parent_path().empty() ? "." : out.parent_path().string();
    fs_write_atomic(dir + "/tokenizer_config.json", cfg);
  }
  std::fprintf(stderr, "tsft tokenizer train: %lld pre-tokens (%lld distinct), %lld merges, vocab %d -> %s\n",
               static_cast<long long>(stats.words), static_cast<long long>(stats.distinct_words),
               static_cast<long long>(stats.merges), stats.vocab_size, a.out.c_str());
  return 0;
}

struct ChatArgs {
  std::string tokenizer, chat_template, date_string;
  bool add_generation_prompt = false, no_thinking = false;
};

int run_chat(const ChatArgs& a) {
  tokenizer::Tokenizer tok(a.tokenizer);
  tokenizer::ChatOptions opt;
  opt.add_generation_prompt = a.add_generation_prompt;
  if (a.no_thinking) opt.enable_thinking = false;
  opt.date_string = a.date_string;
  if (!a.chat_template.empty()) {
    const auto& names = tokenizer::chat_template_names();
    if (std::find(names.begin(), names.end(), a.chat_template) != names.end()) {
      opt.template_name = a.chat_template;
    } else {
      std::ifstream f(a.chat_template, std::ios::binary);
      if (!f.good())
        throw UsageError(
            fmt::format("--chat-template {:?} is neither a template name ({}) nor a readable file",
                        a.chat_template, fmt::join(names, ", ")));
      std::string src((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
      opt.template_name = tokenizer::chat_detect_template(src);
    }
  }
  jsonl_for_each(std::cin, "stdin", [&](JsonlRecord& rec) {
    const nlohmann::json& j = rec.value;
    const size_t n = rec.line;
    TSFT_CHECK(j.is_object() && j.contains("messages") && j["messages"].is_array(),
               "stdin line {}: field \"messages\" (array) missing", n);
    std::vector<tokenizer::ChatMessage> msgs;
    for (size_t i = 0; i < j["messages"].size(); ++i) {
      const auto& m = j["messages"][i];
      TSFT_CHECK(m.is_object() && m.contains("role") && m["role"].is_string() && m.contains("content") &&
                     m["content"].is_string(),
                 "stdin line {}: messages[{}] needs string fields \"role\" and \"content\"", n, i);
      tokenizer::ChatMessage cm{m["role"].get<std::string>(), m["content"].get<std::string>(), {}};
      if (m.contains("reasoning_content") && m["reasoning_content"].is_string())
        cm.reasoning_content = m["reasoning_content"].get<std::string>();
      msgs.push_back(std::move(cm));
    }
    tokenizer::ChatRendered r;
    try {
      r = tokenizer::chat_render(tok, msgs, opt);
    } catch (const Error& e) {
      TSFT_FAIL("stdin line {}: {}", n, e.what());
    }
    nlohmann::ordered_json o;
    o["text"] = r.text;
    o["ids"] = r.ids;
    o["assistant_mask"] = r.assistant_mask;
    std::string out = o.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict) + "\n";
    std::fwrite(out.data(), 1, out.size(), stdout);
  });
  std::fflush(stdout);
  return 0;
}

Action setup_tokenizer(CLI::App& app) {
  app.require_subcommand(1);
  auto a = std::make_shared<TrainArgs>();
  CLI::App* train =
      app.add_subcommand("train", "Train a byte-level BPE tokenizer; write a HF tokenizer.json");
  train->add_option("--corpus", a->corpus, "training text: .jsonl ({\"text\"} or chat records) or plain text")
      ->required()
      ->check(CLI::ExistingFile);
  train
      ->add_option("--vocab-size", a->vocab_size,
                   "total vocabulary size (special tokens + 256 bytes + merges)")
      ->required();
  train
      ->add_option("--special-tokens", a->special_tokens,
                   "special tokens, ids 0.. in order (comma-separated)")
      ->delimiter(',');
  train
      ->add_option("--style", a->style,
                   "pre-tokenizer regex: qwen (single digits) or llama3 (digit runs <= 3)")
      ->check(CLI::IsMember({"qwen", "llama3"}));
  train->add_option("--min-frequency", a->min_frequency, "stop when the best pair occurs fewer times");
  train->add_flag("--no-nfc", a->no_nfc, "no NFC normalizer");
  train->add_option("--text-field", a->text_field, "JSONL field holding the text");
  train->add_option("--out", a->out, "output tokenizer.json")->required();
  auto c = std::make_shared<ChatArgs>();
  CLI::App* chat = app.add_subcommand(
      "chat", "Render chat JSONL with the tokenizer's template: text, ids, assistant mask");
  chat->add_option("--tokenizer", c->tokenizer,
                   "tokenizer.json (its directory's tokenizer_config.json gives the template)")
      ->required()
      ->check(CLI::ExistingFile);
  chat->add_option("--chat-template", c->chat_template,
                   "override: a template name (chatml, qwen2, qwen2.5, qwen3, llama3, llama3.1, llama3.2) or "
                   "a .jinja file");
  chat->add_flag("--add-generation-prompt", c->add_generation_prompt, "end with the assistant prompt");
  chat->add_flag("--no-thinking", c->no_thinking,
                 "qwen3: enable_thinking=false (empty think block in the prompt)");
  chat->add_option("--date-string", c->date_string, "llama3.1/3.2: the \"Today Date\" of the system header");
  return [a, train, c, chat] {
    if (train->parsed()) return run_train(*a);
    if (chat->parsed()) return run_chat(*c);
    return 2;
  };
}

}  // namespace cmd_tokenizer
}  // namespace tsft::cli

TSFT_COMMAND(tokenizer, "tokenizer",
             "Tokenizer tools: `train` (byte-level BPE -> HF tokenizer.json), `chat` (render + mask)",
             tsft::cli::cmd_tokenizer::setup_tokenizer);
