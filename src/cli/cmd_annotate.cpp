// tsft annotate --data FILE --format F --endpoint URL --model NAME --out DIR: Theorem-SFT targets for a
// real dataset through a teacher model (src/annotate/annotate.hpp).
#include <fmt/format.h>

#include "annotate/annotate.hpp"
#include "cli/command.hpp"
#include "cli/endpoint_options.hpp"
#include "data/adapters.hpp"

namespace cmd_annotate {
int run(const tsft::annotate::AnnotateConfig& c) {
  auto s = tsft::annotate::annotate_run(c);
  int64_t errors = s["not_annotated"]["endpoint_error"];
  fmt::print(
      "{} problems: {} accepted, {} rejected, {} without a reference solution, {} endpoint errors; "
      "tokens {} in / {} out -> {}/summary.json\n",
      s["problems"].get<int64_t>(), s["accepted"].get<int64_t>(), s["rejected"]["total"].get<int64_t>(),
      s["not_annotated"]["no_reference_solution"].get<int64_t>(), errors,
      s["tokens"]["prompt"].get<int64_t>(), s["tokens"]["completion"].get<int64_t>(), c.out_dir);
  // A rejection is an outcome (exit 0); a problem left unannotated by the endpoint is unfinished work, so
  // say so in the exit code (as tsft eval --endpoint does), so a script does not train on a partial set.
  if (errors == 0) return 0;
  fmt::print(stderr,
             "{} problems not annotated because of endpoint errors (reasons in {}/errors.jsonl); run the "
             "same command again to retry them\n",
             errors, c.out_dir);
  return 1;
}

TSFT_COMMAND(
    annotate, "annotate", "Theorem-SFT targets for a real dataset through a teacher endpoint",
    [](CLI::App& app) {
      auto c = std::make_shared<tsft::annotate::AnnotateConfig>();
      app.add_option("--data", c->data, "dataset file (JSONL or JSON, adapter format)")->required();
      app.add_option("--format", c->format, "dataset format")
          ->required()
          ->check(CLI::IsMember(tsft::data::adapter_formats()));
      app.add_option("--endpoint", c->teacher.url,
                     "teacher: OpenAI-compatible URL (e.g. http://127.0.0.1:8000/v1)")
          ->required();
      app.add_option("--model", c->teacher.model, "teacher: the served model's name")->required();
      app.add_option("--out", c->out_dir, "output directory")->required();
      tsft::cli::add_endpoint_options(app, c->teacher, "--http-retries");
      app.add_option("--rate", c->rate, "at most this many requests per second (0 = no limit)")
          ->capture_default_str();
      app.add_option("--prompt", c->prompt_path, "prompt template TOML (default data/annotate/prompt.toml)");
      app.add_option("--catalog", c->catalog_path,
                     "theorem catalog TOML file or dir (default data/catalog/competition_math.toml)");
      app.add_option("--top-k", c->top_k, "candidate theorems per problem")->capture_default_str();
      app.add_option("--retries", c->retries, "re-asks after a failed validation")->capture_default_str();
      app.add_option("--max-tokens", c->max_tokens, "teacher completion budget")->capture_default_str();
      app.add_option("--temperature", c->temperature, "teacher temperature")->capture_default_str();
      app.add_option("--limit", c->limit, "first N problems (0 = all)");
      app.add_flag("--retry-rejected", c->retry_rejected,
                   "ask the teacher again for problems cached as rejected (default: a rejection is kept)");
      app.add_flag("-q,--quiet", c->quiet, "no progress output");
      return [c] { return run(*c); };
    });
}  // namespace cmd_annotate
