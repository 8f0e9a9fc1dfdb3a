// tsft instruct: the generic instruction data of the base model's chat stage (see data/instruct.hpp).
#include <fmt/format.h>

#include "cli/command.hpp"
#include "data/instruct.hpp"

namespace cmd_instruct {
struct InstructOpts {
  std::string corpus, out;
  int64_t n = 2000;
  uint64_t seed = 1;
  std::string style = tsft::data::kInstructStyleDefault;
};

tsft::cli::Action setup(CLI::App& app) {
  auto o = std::make_shared<InstructOpts>();
  app.add_option("--corpus", o->corpus, "pre-training corpus JSONL (tsft gen --corpus)")->required();
  app.add_option("--out", o->out, "output chat JSONL")->required();
  app.add_option("-n,--count", o->n, "examples to write")->capture_default_str();
  app.add_option("--seed", o->seed, "sampling seed")->capture_default_str();
  app.add_option("--style", o->style, "answer shape: vanilla (lhs = rhs, \\boxed) | neutral (prose)")
      ->capture_default_str()
      ->check(CLI::IsMember({"vanilla", "neutral"}));
  return [o]() {
    auto st = tsft::data::instruct_write(o->corpus, o->out, o->n, o->seed,
                                         tsft::data::instruct_style_parse(o->style));
    fmt::print("{} instruction examples ({} arithmetic, {} copy) -> {}\n", st.written, st.facts, st.copies,
               o->out);
    return 0;
  };
}

TSFT_COMMAND(instruct, "instruct",
             "Generic chat-format instruction data from the corpus drills (base model stage)", setup);
}  // namespace cmd_instruct
