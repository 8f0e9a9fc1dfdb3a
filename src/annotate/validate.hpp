// Validation of a teacher's annotation before it is kept. The theorem-arm form (one or more steps, then
// the box; "Step k." lines optional):
//   Theorem: <catalog name>. <statement>
//   Cond: <premise>: holds.              (one or more)
//   Map: <variable> = <value>            (one or more; "... = <value> (from step k)" or "... (asked)")
//   <computation lines>                  (one or more)
//   \boxed{<answer>}                     (the last line)
// Checks, first failure wins: it parses (reason "unparsable"); every theorem named is in the catalog
// ("unknown_theorem"); every Map value occurs in the problem or an earlier line ("map_value_not_found");
// the boxed answer equals the dataset answer under the project's grader ("wrong_answer"). The message
// says which line failed and how to fix it (it is sent back to the teacher on retry).
#pragma once
#include <string>
#include <vector>

#include "annotate/math_catalog.hpp"

namespace tsft::annotate {

struct AnnotationCheck {
  bool ok = false;
  std::string reason;   // "" when ok
  std::string message;  // what failed and how to fix it
  std::string target;   // ok: the normalized target (Theorem lines carry the catalog's statement)
  std::vector<std::string> theorems;  // ok: catalog ids, in order of use
};

AnnotationCheck validate_annotation(const std::string& text, const std::string& problem,
                                    const std::string& gold_answer, const MathCatalog& cat);

// Does `value` occur in `haystack`? Numbers match whole numbers by value (3.50 = 3.5, 1,200 = 1200,
// "twelve" = 12); other values match as substrings after dropping spaces, '$' and LaTeX spacing.
bool value_occurs(const std::string& value, const std::string& haystack);

}  // namespace tsft::annotate
