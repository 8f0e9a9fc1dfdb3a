#include "theorems/render.hpp"

#include "core/error.hpp"

namespace tsft {

const std::vector<std::string>& render_arm_names() {
  static const std::vector<std::string> names = {
      "theorem",         "vanilla",       "vanilla-matched", "answer-only", "theorem-no-statement",
      "theorem-no-cond", "theorem-no-map"};
  return names;
}

Arm render_parse_arm(const std::string& name) {
  const auto& names = render_arm_names();
  for (size_t k = 0; k < names.size(); ++k)
    if (names[k] == name) return static_cast<Arm>(k);
  std::string all;
  for (auto& n : names) all += (all.empty() ? "" : ", ") + n;
  TSFT_FAIL("unknown arm '{}' ({})", name, all);
}

const char* render_arm_name(Arm arm) {
  const auto& names = render_arm_names();
  size_t k = static_cast<size_t>(arm);
  return k < names.size() ? names[k].c_str() : "?";
}

size_t render_token_count(std::string_view text) {
  return (text.size() + 3) / 4;
}

std::string render_box(const nlohmann::json& p) {
  return "\\boxed{" + p.at("answer").get<std::string>() + "}";
}

std::string render_exec_block(const nlohmann::json& p) {
  std::string out;
  for (auto& st : p.at("solution").at("steps"))
    for (auto& l : st.at("exec")) out += (out.empty() ? "" : "\n") + l.get<std::string>();
  return out;
}

namespace {

// Which lines of the theorem target are written (all, or one kind dropped by an ablation arm).
struct TheoremLines {
  bool statement = true, cond = true, map = true;
};

std::string theorem_target(const nlohmann::json& p, TheoremLines keep = {}) {
  const auto& steps = p.at("solution").at("steps");
  std::string out;
  for (size_t k = 0; k < steps.size(); ++k) {
    const auto& st = steps[k];
    if (steps.size() > 1) out += "Step " + std::to_string(k + 1) + ".\n";
    if (keep.statement)
      out += "Theorem: " + st.at("name").get<std::string>() + ". " + st.at("statement").get<std::string>() +
             "\n";
    if (keep.cond)
      for (auto& l : st.at("cond")) out += l.get<std::string>() + "\n";
    if (keep.map)
      for (auto& l : st.at("map")) out += l.get<std::string>() + "\n";
    for (auto& l : st.at("exec")) out += l.get<std::string>() + "\n";
  }
  return out + render_box(p);
}

std::string vanilla_target(const nlohmann::json& p) {
  std::string ex = render_exec_block(p);
  return (ex.empty() ? "" : ex + "\n") + render_box(p);
}

// Pads vanilla with the question text (cycled word by word: nothing beyond the prompt) up to the theorem
// arm's token count under `count`.
std::string matched_target(const nlohmann::json& p, const TokenCount& count) {
  std::string van = vanilla_target(p), thm = theorem_target(p);
  size_t goal = count(thm);
  std::string rest = p.at("question").get<std::string>();
  for (char& c : rest)
    if (c == '\n') c = ' ';
  std::vector<std::string> words;
  for (size_t i = 0; i < rest.size();) {
    size_t j = rest.find(' ', i);
    if (j == std::string::npos) j = rest.size();
    if (j > i) words.push_back(rest.substr(i, j - i));
    i = j + 1;
  }
  if (words.empty()) words = {"Given."};
  std::string pad;
  auto total = [&](const std::string& pd) { return count(pd.empty() ? van : pd + "\n" + van); };
  for (size_t k = 0; total(pad) < goal; ++k) {
    const std::string& w = words[k % words.size()];
    std::string sep = pad.empty() ? "" : " ";
    if (total(pad + sep + w) <= goal) {
      pad += sep + w;
      continue;
    }
    // Finish with a prefix of the word: the count then lands on the goal (each byte adds <= 1 token).
    std::string base = pad;
    for (size_t c = 1; c <= w.size(); ++c) {
      std::string cand = base + sep + w.substr(0, c);
      if (total(cand) > goal) break;
      pad = cand;
    }
    break;
  }
  return pad.empty() ? van : pad + "\n" + van;
}

}  // namespace

std::string render_target(const nlohmann::json& p, Arm arm, const TokenCount& count) {
  switch (arm) {
    case Arm::kTheorem:
      return theorem_target(p);
    case Arm::kVanilla:
      return vanilla_target(p);
    case Arm::kVanillaMatched:
      return matched_target(p, count);
    case Arm::kAnswerOnly:
      return render_box(p);
    case Arm::kTheoremNoStatement:
      return theorem_target(p, {.statement = false});
    case Arm::kTheoremNoCond:
      return theorem_target(p, {.cond = false});
    case Arm::kTheoremNoMap:
      return theorem_target(p, {.map = false});
  }
  TSFT_FAIL("bad arm");
}

nlohmann::json render_chat(const nlohmann::json& p, Arm arm, const TokenCount& count) {
  return {{"id", p.at("id")},
          {"arm", render_arm_name(arm)},
          {"messages",
           {{{"role", "user"}, {"content", p.at("question")}},
            {{"role", "assistant"}, {"content", render_target(p, arm, count)}}}}};
}

}  // namespace tsft
