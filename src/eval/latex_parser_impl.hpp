// The recursive-descent parser's state and grammar functions (private to src/eval: latex_parser.cpp
// holds answer .. script arguments, latex_parser_primary.cpp the primaries and commands). The grammar
// is in latex_parser.hpp.
#pragma once
#include <algorithm>
#include <string>
#include <vector>

#include "eval/latex_lexer.hpp"
#include "eval/latex_node.hpp"

namespace tsft::eval::detail {

struct Parser {
  std::vector<Token>& t;
  size_t p = 0;
  int abs_depth = 0;
  int depth = 0;
  bool ok = true;
  const Token& peek(size_t k = 0) const { return t[std::min(p + k, t.size() - 1)]; }
  bool op(char c, size_t k = 0) const { return peek(k).t == Tok::Op && peek(k).text[0] == c; }
  bool cmd(const char* name, size_t k = 0) const { return peek(k).t == Tok::Cmd && peek(k).text == name; }
  Node fail();
  bool at_sep() const;

  // answer := group (';' group)*
  Node parse_answer();

  // items separated by , ; and or, until Eof or a closing bracket (not consumed). seps[i] is between i, i+1.
  void parse_items(std::vector<Node>& items, std::vector<char>& seps, int close);
  bool is_close() const { return op(')') || op(']') || op('}') || peek().t == Tok::RSet; }

  Node parse_item();
  Node parse_ratio();
  Node parse_union();
  Node parse_sum();
  bool starts_primary() const;
  Node parse_term();
  Node parse_power();
  Node parse_postfix(Node n);

  // Argument of ^ _ \frac \sqrt: a braced group, or one digit / letter / command.
  Node parse_script_arg();
  Node letter_node(const std::string& l);
  std::string raw_until_group_end();  // raw text of a subscript argument, for symbol names

  Node parse_func(const std::string& name);
  Node parse_bracket(char open);
  Node parse_matrix();
  Node parse_primary();
  Node parse_primary_inner();
  Node parse_command();
};

}  // namespace tsft::eval::detail
