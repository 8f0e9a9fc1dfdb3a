// The base model's generic instruction stage (issue 7): chat examples made from the pre-training
// corpus's arithmetic drills and copy drills, so the base model follows the chat format and boxes its
// final answer like an instruct model, without ever seeing a problem template, a theorem name or an
// arm's target format (no Theorem/Cond/Map lines).
//   drill fact "a + b = c"   -> user "Compute a + b."      assistant "a + b = c\n\boxed{c}"
//   step fact "a - b - c = d" (solution arithmetic)  -> the same; decompositions ("67 = 6 \times 11 + 1",
//                            right side not a number) are skipped
//   copy drill "Copy: X\nX"  -> user "Repeat exactly: X"   assistant "\boxed{X}"
// That is style "vanilla": its "lhs = rhs\n\boxed{rhs}" answers are exactly the vanilla arm's target
// shape. Style "neutral" (issue 12 item 5: a base that favours neither arm) answers in prose whose shape
// is neither arm's: facts -> "The answer is c.", copies -> "Here it is: X" (no computation line, no box).
#pragma once
#include <cstdint>
#include <string>

namespace tsft::data {

enum class InstructStyle { kVanilla, kNeutral };
// The default style of `tsft instruct` and of an experiment's [instruct] style (declared once, here).
inline constexpr const char* kInstructStyleDefault = "vanilla";
// "vanilla" | "neutral"; anything else is a usage error listing them.
InstructStyle instruct_style_parse(const std::string& name);

struct InstructStats {
  int64_t facts = 0, copies = 0, written = 0;
};

// Reads corpus.jsonl ({"kind","text"} per line; kinds other than drill/step/copy are ignored), writes `n`
// chat examples (JSONL {id, messages}) sampled with `seed` (3 drill facts : 1 copy), atomically.
// Errors name the corpus file and line.
InstructStats instruct_write(const std::string& corpus_path, const std::string& out_path, int64_t n,
                             uint64_t seed,
                             InstructStyle style = instruct_style_parse(kInstructStyleDefault));

}  // namespace tsft::data
