// tsft eval --model DIR --data FILE|DIR... --out DIR: generate, grade, results.jsonl + metrics.json.
#include <fmt/format.h>

#include <algorithm>

#include "cli/command.hpp"
#include "cli/endpoint_options.hpp"
#include "cli/engine_options.hpp"
#include "core/error.hpp"
#include "data/adapters.hpp"
#include "eval/run_eval.hpp"

namespace cmd_eval {
int run(tsft::eval::EvalConfig c, const std::string& shard, bool chunk_given) {
  TSFT_USAGE_CHECK(c.chunk > 0, "--chunk must be positive (got {})", c.chunk);
  if (!c.endpoint.url.empty()) {  // --model names the served model; there is no local directory
    TSFT_USAGE_CHECK(c.adapter_dir.empty(),
                     "--adapter applies to a local model, not to --endpoint "
                     "(serve the adapter with tsft serve --adapter)");
    c.endpoint.model = c.model_dir;
    c.model_dir.clear();
    // Results are appended per chunk: keep chunks a few rounds of requests, so a kill loses little.
    if (!chunk_given) c.chunk = std::max(8, 4 * c.endpoint.concurrency);
  }
  if (!shard.empty()) {
    size_t s = shard.find('/');
    TSFT_USAGE_CHECK(s != std::string::npos, "--shard '{}': expected i/n", shard);
    try {
      c.shard_index = std::stoi(shard.substr(0, s));
      c.shard_count = std::stoi(shard.substr(s + 1));
    } catch (const std::exception&) {
      throw tsft::UsageError("--shard '" + shard + "': expected i/n");
    }
  }
  auto s = tsft::eval::eval_run(c);
  auto m = tsft::eval::eval_read_results(c.out_dir + "/results.jsonl");
  auto metrics = tsft::eval::eval_metrics(m);
  fmt::print("{} items, accuracy {:.2f}% [{:.2f}, {:.2f}]; {:.1f} new tokens/s -> {}/metrics.json\n", s.items,
             100 * metrics["overall"]["accuracy"].get<double>(),
             100 * metrics["overall"]["ci95"][0].get<double>(),
             100 * metrics["overall"]["ci95"][1].get<double>(), s.new_tokens_per_s, c.out_dir);
  if (s.failed == 0) return 0;
  // Incomplete: say so in the exit code, so a script does not go on with a partial evaluation.
  fmt::print(stderr,
             "{} items failed at the endpoint and are not graded (reasons in {}/failed.jsonl); run the "
             "same command again to retry them\n",
             s.failed, c.out_dir);
  return 1;
}

TSFT_COMMAND(
    eval, "eval", "Evaluate a model on problems: generate, grade, metrics with intervals", [](CLI::App& app) {
      auto c = std::make_shared<tsft::eval::EvalConfig>();
      auto shard = std::make_shared<std::string>();
      app.add_option("--model", c->model_dir, "HF model directory (with --endpoint: the served model's name)")
          ->required();
      app.add_option("--endpoint", c->endpoint.url,
                     "generate through an OpenAI-compatible server (e.g. http://127.0.0.1:8000/v1) instead");
      tsft::cli::add_endpoint_options(app, c->endpoint, "--retries");
      app.add_option("--data", c->data, "problem JSONL files or directories (tsft gen output)")->required();
      app.add_option("--format", c->format,
                     "--data holds a public dataset in this adapter format (as tsft convert reads it)")
          ->check(CLI::IsMember(tsft::data::adapter_formats()));
      app.add_option("--split", c->split, "--format: split name of the records")->capture_default_str();
      app.add_option("--out", c->out_dir, "output directory (results.jsonl, metrics.json)")->required();
      app.add_option("--tokenizer", c->tokenizer_path, "tokenizer.json (default: the model's)");
      app.add_option("--chat-template", c->chat_template, "override the chat template family");
      app.add_option("--system", c->system, "system message");
      app.add_option("--limit", c->limit, "items per file (0 = all)");
      app.add_option("--shard", *shard, "evaluate shard i of n (i/n)");
      app.add_option("--max-new-tokens", c->max_new_tokens, "generation budget")->capture_default_str();
      app.add_option("--batch", c->batch, "concurrent sequences")->capture_default_str();
      app.add_option("--threads", c->threads, "threads (0 = all cores)");
      CLI::Option* chunk =
          app.add_option("--chunk", c->chunk,
                         "items generated between appends to results.jsonl (a kill loses at most "
                         "one chunk; default 256, with --endpoint 4 x --concurrency)");
      app.add_flag("-q,--quiet", c->quiet, "no progress output");
      tsft::cli::add_engine_options(app, c->engine);
      tsft::cli::add_adapter_option(app, c->adapter_dir);
      return [c, shard, chunk] { return run(*c, *shard, chunk->count() > 0); };
    });
}  // namespace cmd_eval
