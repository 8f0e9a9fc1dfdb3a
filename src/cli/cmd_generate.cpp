// tsft generate --model DIR (--prompt TEXT | --input FILE.jsonl): batched generation with a KV cache
// and continuous batching; completions as JSONL.
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "cli/engine_options.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/jsonl.hpp"
#include "core/progress.hpp"
#include "kernels/cpu/kernels.hpp"
#include "model/generate.hpp"
#include "model/lora.hpp"
#include "tokenizer/chat.hpp"

namespace cmd_generate {
using json = nlohmann::json;

struct Opts {
  std::string model, adapter, prompt, input, out, tokenizer, chat_template, system;
  bool raw = false;
  int max_new_tokens = 256, batch = 16, threads = 0, top_k = 0;
  double temperature = 0, top_p = 1.0;
  uint64_t seed = 0;
  std::vector<std::string> stops;
  tsft::EngineSpec engine;
};

struct Item {
  std::string id;
  json prompt;  // as given
  std::vector<int32_t> ids;
};

int run(const Opts& o) {
  tsft::kernels_init_threads(o.threads);
  TSFT_USAGE_CHECK(o.prompt.empty() != o.input.empty(), "give exactly one of --prompt or --input");
  std::unique_ptr<tsft::Engine> eng =
      tsft::engine_create(o.engine, tsft::model_load_adapted(o.model, o.adapter));
  std::string tok_path =
      o.tokenizer.empty() ? (std::filesystem::path(o.model) / "tokenizer.json").string() : o.tokenizer;
  tsft::tokenizer::Tokenizer tok(tok_path);
  tsft::tokenizer::ChatOptions copt;
  copt.add_generation_prompt = true;
  copt.template_name = o.chat_template;
  bool use_chat = !o.raw && (!tok.chat_template_source().empty() || !o.chat_template.empty());

  auto encode = [&](const json& p, const std::string& where) {
    std::vector<tsft::tokenizer::ChatMessage> msgs;
    if (p.is_string()) {
      if (!use_chat) return tok.encode(p.get<std::string>(), true);
      if (!o.system.empty()) msgs.push_back({"system", o.system, std::nullopt});
      msgs.push_back({"user", p.get<std::string>(), std::nullopt});
    } else {
      TSFT_CHECK(p.is_array(), "{}: 'messages' must be an array", where);
      for (auto& mm : p) {
        TSFT_CHECK(mm.is_object() && mm.contains("role") && mm.contains("content"),
                   "{}: each message needs 'role' and 'content'", where);
        msgs.push_back({mm["role"].get<std::string>(), mm["content"].get<std::string>(), std::nullopt});
      }
    }
    return tsft::tokenizer::chat_render(tok, msgs, copt).ids;
  };

  std::vector<Item> items;
  if (!o.prompt.empty()) {
    items.push_back({"0", o.prompt, encode(o.prompt, "--prompt")});
  } else {
    tsft::jsonl_for_each(o.input, [&](tsft::JsonlRecord& rec) {
      const std::string where = rec.where();
      const json& j = rec.value;
      json p = j.contains("messages") ? j["messages"] : j.contains("prompt") ? j["prompt"] : json();
      TSFT_CHECK(!p.is_null(), "{}: expected field 'prompt' (string) or 'messages'", where);
      std::string id = j.contains("id") ? (j["id"].is_string() ? j["id"].get<std::string>() : j["id"].dump())
                                        : std::to_string(items.size());
      items.push_back({id, p, encode(p, where)});
    });
  }
  std::vector<std::vector<int32_t>> prompts;
  for (auto& it : items) prompts.push_back(it.ids);

  tsft::GenOptions g;
  g.max_new_tokens = o.max_new_tokens;
  g.max_batch = o.batch;
  g.sampling = {o.temperature, o.top_k, o.top_p, o.seed};
  for (int32_t id : {tok.end_of_turn_id(), tok.eos_id()})
    if (id >= 0) g.stop_ids.push_back(id);
  for (int id : eng->config().eos_token_ids) g.stop_ids.push_back(id);
  if (!o.stops.empty())
    g.stop_check = [&](size_t, const std::vector<int32_t>& t) {
      std::string s = tok.decode(t, true);
      for (auto& st : o.stops)
        if (s.find(st) != std::string::npos) return true;
      return false;
    };
  tsft::Progress prog("generate", (int64_t)items.size(), "prompts");
  int64_t done = 0;
  g.on_done = [&](size_t) { prog.update(++done); };
  tsft::GenStats st;
  auto res = tsft::generate(*eng, prompts, g, &st);
  prog.finish();

  std::string out;
  for (size_t i = 0; i < items.size(); i++) {
    std::string text = tok.decode(res[i].tokens, true);
    for (auto& s : o.stops) {
      size_t p = text.find(s);
      if (p != std::string::npos) text = text.substr(0, p);
    }
    json j = {{"id", items[i].id},
              {"prompt", items[i].prompt},
              {"completion", text},
              {"n_tokens", res[i].tokens.size()},
              {"finish_reason", res[i].finish_reason}};
    out += j.dump() + "\n";
  }
  if (o.out.empty())
    std::cout << out;
  else
    tsft::fs_write_atomic(o.out, out);
  tsft::log_info(
      "{} prompts, {} prompt tokens, {} new tokens in {:.2f} s: {:.1f} new tokens/s, mean batch {:.1f}",
      items.size(), st.prompt_tokens, st.new_tokens, st.seconds, st.new_tokens / std::max(1e-9, st.seconds),
      st.avg_batch);
  return 0;
}

TSFT_COMMAND(generate, "generate", "Generate completions (KV cache, continuous batching)", [](CLI::App& app) {
  auto o = std::make_shared<Opts>();
  app.add_option("--model", o->model, "HF model directory")->required();
  app.add_option("--prompt", o->prompt, "one prompt (a user message when the model has a chat template)");
  app.add_option("--input", o->input, "JSONL of {\"id\", \"prompt\"} or {\"id\", \"messages\"}");
  app.add_option("--out", o->out, "output JSONL (default: stdout)");
  app.add_option("--tokenizer", o->tokenizer, "tokenizer.json (default: the model's)");
  app.add_option("--chat-template", o->chat_template, "override the chat template family");
  app.add_option("--system", o->system, "system message for --prompt / string prompts");
  app.add_flag("--raw", o->raw, "no chat template: encode the prompt text as is");
  app.add_option("--max-new-tokens", o->max_new_tokens, "tokens to generate at most")->capture_default_str();
  app.add_option("--batch", o->batch, "concurrent sequences")->capture_default_str();
  app.add_option("--temperature", o->temperature, "0 = greedy")->capture_default_str();
  app.add_option("--top-k", o->top_k, "0 = off")->capture_default_str();
  app.add_option("--top-p", o->top_p, "1 = off")->capture_default_str();
  app.add_option("--seed", o->seed, "sampling seed")->capture_default_str();
  app.add_option("--stop", o->stops, "stop string (repeatable)");
  app.add_option("--threads", o->threads, "threads (0 = all cores)");
  tsft::cli::add_adapter_option(app, o->adapter);
  tsft::cli::add_engine_options(app, o->engine);
  return [o] { return run(*o); };
});
}  // namespace cmd_generate
