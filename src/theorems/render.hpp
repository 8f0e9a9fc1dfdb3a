// Supervision arms. Every arm gets the same user prompt (the problem's question) and differs only in
// the assistant target, rendered from the problem record's solution (no catalog needed):
//   theorem          per step: "Theorem: <name>. <statement>", one "Cond:" line per premise (holds /
//                    fails), one "Map:" line per slot binding its role to the problem's object and value,
//                    then the computation lines; ends with \boxed{answer}
//   vanilla          the same computation lines and the same \boxed{answer}, nothing else
//   vanilla-matched  vanilla preceded by a neutral restatement of the givens, padded so its token count
//                    is within 5% of the theorem arm's (render_token_count)
//   answer-only      \boxed{answer}
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace tsft {

enum class Arm { kTheorem, kVanilla, kVanillaMatched, kAnswerOnly };

Arm render_parse_arm(const std::string& name);  // "theorem" | "vanilla" | "vanilla-matched" | "answer-only"
const char* render_arm_name(Arm arm);

// Token-count proxy until a tokenizer exists: the number of bytes / 4, rounded up (about one BPE token
// per 4 characters of English/LaTeX). Every length comparison between arms goes through this function.
size_t render_token_count(std::string_view text);

std::string render_target(const nlohmann::json& problem, Arm arm);
// The computation lines shared by theorem and vanilla (joined with '\n'), and the final box line.
std::string render_exec_block(const nlohmann::json& problem);
std::string render_box(const nlohmann::json& problem);
// {"id", "messages": [{"role": "user", "content": question}, {"role": "assistant", "content": target}]}
nlohmann::json render_chat(const nlohmann::json& problem, Arm arm);

}  // namespace tsft
