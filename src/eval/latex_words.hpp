// Word-level helpers shared by the answer parser (latex_parser.cpp).
#pragma once
#include <string>
#include <vector>

#include "eval/latex_lexer.hpp"

namespace tsft::eval {

bool word_is_unit(const std::string& w);      // cm, miles, dollars, ... (case-insensitive)
int word_number(const std::string& w);        // "three" -> 3, "hundred" -> 100, else -1
bool word_is_function(const std::string& w);  // sin, log, gcd, ...
// \text{..} groups -> separators / dropped units / re-lexed single words / free text; unit words after
// a value are dropped.
void tokens_resolve_text(std::vector<Token>& toks, const LexOptions& opt);

}  // namespace tsft::eval
