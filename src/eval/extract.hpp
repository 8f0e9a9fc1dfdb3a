// Final-answer extraction from model output (or from a reference solution). Rules, first match wins:
//  boxed          last \boxed{..} / \fbox{..} / \boxed X by brace matching; earlier boxes joined to it by
//                 nothing, ",", "and", "or" (possibly inside \text{}) are merged: "\boxed{1} and \boxed{2}"
//                 -> "1, 2" (rule boxed_multi)
//  final_answer   "final answer is $X$. I hope it is correct." (Minerva) / "Final Answer: ..."
//  gsm8k          "#### N"
//  answer_is      "the answer is X", "answer: X", a line "A: X"
//  cannot_determine  "cannot be determined", "not enough information", "insufficient information", ...
//                 -> \text{cannot be determined} (the gold string of probe P9)
//  inline_math    rightmost $..$ / $$..$$ / \(..\) / \[..\] (neighbours joined as for boxes)
//  whole          the whole text when it is a bare answer (at most one ordinary word)
//  last_number    the last number in the text (thousands separators and decimals kept)
// Multiple choice (extract_choice): boxed letter, a bare letter, "A." / "(B)" at the start,
// "answer is (C)" / "answer is C", the last "(X)", the last standalone capital letter.
#pragma once
#include <string>
#include <string_view>

namespace tsft::eval {

enum class ExtractRule {
  None,
  Boxed,
  BoxedMulti,
  FinalAnswer,
  Gsm8k,
  AnswerIs,
  CannotDetermine,
  InlineMath,
  Whole,
  LastNumber,
  Choice,
};

struct Extraction {
  std::string answer;
  ExtractRule rule = ExtractRule::None;
};

const char* extract_rule_name(ExtractRule r);
Extraction extract_answer(std::string_view text);
// The choice letter ('A'..'Z') a response commits to, or 0.
char extract_choice(std::string_view text);
// The single letter a gold answer like "C", "(C)", "\text{(C)}" names, or 0 when it is not a letter.
char extract_gold_choice(std::string_view gold);
// True when the text says the question cannot be answered from the given information (P8/P9 flag).
bool extract_is_cannot_determine(std::string_view text);

inline constexpr const char* kCannotDetermine = "\\text{cannot be determined}";

}  // namespace tsft::eval
