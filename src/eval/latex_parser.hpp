// Recursive-descent parser: token stream (latex_lexer.hpp) -> answer AST (latex_node.hpp).
//
// answer   := group (';' group)*                 ';' splits groups when ',' is also used inside them
// group    := item ((',' | and | or | \text{ and }) item)*      -> List when more than one item
// item     := ratio (relop ratio)*               -> Rel (chains kept; \approx tails dropped later)
// ratio    := union (':' union)*                 -> Ratio
// union    := sum (\cup sum)*
// sum      := [+|-|\pm] term ((+|-|\pm|\mp) term)*
// term     := power ((*|/) power | implicit-product power)*
// power    := postfix (^ power)?                 postfix: ! % degree unit-words
// primary  := number | symbol | constant | \frac | \sqrt | function | (..) [..] \{..\} {..} |..| matrix |
// text
#pragma once
#include <optional>
#include <string_view>

#include "eval/latex_lexer.hpp"
#include "eval/latex_node.hpp"

namespace tsft::eval {

// nullopt when the text is not a well-formed answer (unbalanced brackets, dangling operators, ...).
std::optional<Node> latex_parse(std::string_view text, const LexOptions& opt = {});

}  // namespace tsft::eval
