// tsft render: problems JSONL -> chat-format SFT JSONL for one supervision arm (same prompts in every arm).
#include <fmt/format.h>

#include <fstream>

#include "cli/command.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/jsonl.hpp"
#include "theorems/render.hpp"
#include "tokenizer/tokenizer.hpp"

namespace tsft::cli {
namespace cmd_render {

struct RenderOpts {
  std::string in, out, arm, tokenizer;
};

Action setup(CLI::App& app) {
  auto o = std::make_shared<RenderOpts>();
  app.add_option("--in", o->in, "problems JSONL (from tsft gen)")->required();
  app.add_option("--out", o->out, "output chat JSONL ({id, arm, messages})")->required();
  app.add_option(
         "--arm", o->arm,
         "theorem | vanilla | vanilla-matched | answer-only | theorem-no-statement | theorem-no-cond | "
         "theorem-no-map")
      ->required()
      ->check(CLI::IsMember(render_arm_names()));
  app.add_option("--tokenizer", o->tokenizer,
                 "tokenizer.json counting vanilla-matched lengths (default: bytes / 4)");
  return [o]() {
    Arm arm = render_parse_arm(o->arm);
    TokenCount count = render_token_count;
    std::shared_ptr<tokenizer::Tokenizer> tok;
    if (!o->tokenizer.empty()) {
      tok = std::make_shared<tokenizer::Tokenizer>(o->tokenizer);
      count = [tok](std::string_view t) { return tok->encode(t).size(); };
    }
    std::string out;  // written atomically once complete (a killed render leaves no torn file)
    long n = 0;
    jsonl_for_each(o->in, [&](JsonlRecord& rec) {  // a field of the wrong type: an error naming file:line
      out += render_chat(rec.value, arm, count).dump() + '\n';
      ++n;
    });
    fs_write_atomic(o->out, out);
    fmt::print("rendered {} problems ({} arm) -> {}\n", n, o->arm, o->out);
    return 0;
  };
}

TSFT_COMMAND(render, "render", "render problems into chat SFT data for one supervision arm", setup);

}  // namespace cmd_render
}  // namespace tsft::cli
