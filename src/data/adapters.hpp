// Dataset adapters: native files of public math benchmarks -> the common Problem schema (problem.hpp).
// Input: JSONL (one native record per line), or a .json file holding one array of records or one record.
// Errors name the file and the line (or array element) at fault and the field.
//
// format      native fields read (answer source)
// math        problem, solution, [answer], level, type|subject, [unique_id]  (MATH, MATH-500;
//             answer = "answer" if present, else the last \boxed{} of solution)
// gsm8k       question, answer                      (answer = text after "####")
// gsm_plus    question, solution, answer, perturbation_type, seed_question, seed_answer
// gsm1k       question, answer (integer or string)
// geoqa       English problem|problem|question, choices[], label (index), [id], [subject]  (GeoQA, UniGeo)
// theoremqa   Question, Answer, Answer_type, [id], [theorem], [Picture]
// agieval     passage, question, options[], label, answer   (AGIEval math: sat-math, aqua-rat, math)
// omni_math   problem, solution, answer, domain[], difficulty, source
#pragma once
#include <string>
#include <vector>

#include "data/problem.hpp"

namespace tsft::data {

const std::vector<std::string>& adapter_formats();
// `split` goes to Problem::split; ids are "<format>/<native id or line number>".
std::vector<Problem> adapter_load(const std::string& format, const std::string& path,
                                  const std::string& split = "test");
// One native record -> Problem (`where` names file:line for errors). Exposed for tests.
Problem adapter_convert(const std::string& format, const nlohmann::json& rec, const std::string& where,
                        const std::string& split, size_t index);
// Content of the last \boxed{...} / \fbox{...} in `text` by brace matching ("" when none).
std::string adapter_last_boxed(const std::string& text);

}  // namespace tsft::data
