// Supervision arms. Every arm gets the same user prompt (the problem's question) and differs only in
// the assistant target, rendered from the problem record's solution (no catalog needed):
//   theorem          per step: "Theorem: <name>. <statement>", one "Cond:" line per premise (holds /
//                    fails), one "Map:" line per slot binding its role to the problem's object and value,
//                    then the computation lines; ends with \boxed{answer}
//   vanilla          the same computation lines and the same \boxed{answer}, nothing else
//   vanilla-matched  vanilla preceded by the problem's own question text (cycled word by word; it carries
//                    nothing beyond the prompt), padded so its token count reaches the theorem arm's,
//                    counted by the run's tokenizer where given (else render_token_count)
//   answer-only      \boxed{answer}
// Theorem-target ablations (issue 12 item 5): the theorem target with one kind of line dropped, all else
// (step headers, the other lines, their order, the box) unchanged:
//   theorem-no-statement  without the "Theorem: <name>. <statement>" lines
//   theorem-no-cond       without the "Cond:" lines
//   theorem-no-map        without the "Map:" lines
#pragma once
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace tsft {

enum class Arm {
  kTheorem,
  kVanilla,
  kVanillaMatched,
  kAnswerOnly,
  kTheoremNoStatement,
  kTheoremNoCond,
  kTheoremNoMap
};

// "theorem" | "vanilla" | "vanilla-matched" | "answer-only" | "theorem-no-statement" | "theorem-no-cond" |
// "theorem-no-map"; anything else is an error listing them.
Arm render_parse_arm(const std::string& name);
const char* render_arm_name(Arm arm);
// Every arm's name, in enum order.
const std::vector<std::string>& render_arm_names();

// Token-count proxy until a tokenizer exists: the number of bytes / 4, rounded up (about one BPE token
// per 4 characters of English/LaTeX). Every length comparison between arms goes through this function.
size_t render_token_count(std::string_view text);
using TokenCount = std::function<size_t(std::string_view)>;

std::string render_target(const nlohmann::json& problem, Arm arm,
                          const TokenCount& count = render_token_count);
// The computation lines shared by theorem and vanilla (joined with '\n'), and the final box line.
std::string render_exec_block(const nlohmann::json& problem);
std::string render_box(const nlohmann::json& problem);
// {"id", "messages": [{"role": "user", "content": question}, {"role": "assistant", "content": target}]}
nlohmann::json render_chat(const nlohmann::json& problem, Arm arm,
                           const TokenCount& count = render_token_count);

}  // namespace tsft
