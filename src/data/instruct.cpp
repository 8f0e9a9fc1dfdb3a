#include "data/instruct.hpp"

#include <nlohmann/json.hpp>
#include <vector>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/jsonl.hpp"
#include "core/rng.hpp"

namespace tsft::data {
namespace {
using json = nlohmann::json;

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> v;
  size_t a = 0;
  while (a <= s.size()) {
    size_t b = s.find('\n', a);
    if (b == std::string::npos) b = s.size();
    if (b > a) v.push_back(s.substr(a, b - a));
    a = b + 1;
  }
  return v;
}

json chat(const std::string& id, const std::string& user, const std::string& assistant) {
  return {{"id", id},
          {"messages", json::array({{{"role", "user"}, {"content", user}},
                                    {{"role", "assistant"}, {"content", assistant}}})}};
}
// The assistant's answer to an arithmetic fact and to a copy drill, in `style`.
std::string fact_answer(const std::string& lhs, const std::string& rhs, InstructStyle style) {
  return style == InstructStyle::kNeutral ? "The answer is " + rhs + "."
                                          : lhs + " = " + rhs + "\n\\boxed{" + rhs + "}";
}
std::string copy_answer(const std::string& x, InstructStyle style) {
  return style == InstructStyle::kNeutral ? "Here it is: " + x : "\\boxed{" + x + "}";
}
}  // namespace

InstructStyle instruct_style_parse(const std::string& name) {
  if (name == "vanilla") return InstructStyle::kVanilla;
  if (name == "neutral") return InstructStyle::kNeutral;
  TSFT_USAGE_CHECK(false, "unknown instruct style '{}' (vanilla, neutral)", name);
  return InstructStyle::kVanilla;
}

InstructStats instruct_write(const std::string& corpus_path, const std::string& out_path, int64_t n,
                             uint64_t seed, InstructStyle style) {
  TSFT_USAGE_CHECK(n > 0, "the number of instruction examples must be positive (got {})", n);
  std::vector<std::pair<std::string, std::string>> facts;  // (lhs, rhs)
  std::vector<std::string> copies;
  jsonl_for_each(corpus_path, [&](JsonlRecord& rec) {
    const std::string where = rec.where();
    const std::string &kind = rec.str("kind"), &text = rec.str("text");
    if (kind == "drill" || kind == "step") {
      for (auto& l : split_lines(text)) {
        size_t eq = l.rfind(" = ");
        TSFT_CHECK(eq != std::string::npos && eq > 0 && eq + 3 < l.size(),
                   "{}: field 'text': {} line '{}' is not 'lhs = rhs'", where, kind, l);
        std::string rhs = l.substr(eq + 3);
        // Step lines may be decompositions ("67 = 6 \times 11 + 1"): only "expression = number" asks.
        bool number = rhs.find_first_not_of("-0123456789") == std::string::npos;
        if (kind == "drill" || number) facts.push_back({l.substr(0, eq), rhs});
      }
    } else if (kind == "copy") {
      auto ls = split_lines(text);
      TSFT_CHECK(!ls.empty() && ls[0].rfind("Copy: ", 0) == 0,
                 "{}: field 'text': a copy drill starts with 'Copy: '", where);
      copies.push_back(ls[0].substr(6));
    }
  });
  TSFT_CHECK(!facts.empty(),
             "{}: no arithmetic facts (kind \"drill\" or \"step\") to make instruction examples from",
             corpus_path);
  static const char* asks[] = {"Compute {}.", "What is {}?", "Evaluate {}.", "Work out {}."};
  Xoshiro rng(seed * 7919ULL + 17);
  InstructStats st;
  std::string out;
  for (int64_t i = 0; i < n; i++) {
    std::string id = fmt::format("instruct-{:06d}", i);
    if (!copies.empty() && rng.below(4) == 0) {
      const std::string& x = copies[rng.below(copies.size())];
      out += chat(id, "Repeat exactly: " + x, copy_answer(x, style)).dump() + "\n";
      st.copies++;
    } else {
      auto& [lhs, rhs] = facts[rng.below(facts.size())];
      out +=
          chat(id, fmt::format(fmt::runtime(asks[rng.below(4)]), lhs), fact_answer(lhs, rhs, style)).dump() +
          "\n";
      st.facts++;
    }
    st.written++;
  }
  fs_write_atomic(out_path, out);
  return st;
}

}  // namespace tsft::data
