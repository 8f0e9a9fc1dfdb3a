#include "theorems/render.hpp"

#include "core/error.hpp"

namespace tsft {

Arm render_parse_arm(const std::string& name) {
  if (name == "theorem") return Arm::kTheorem;
  if (name == "vanilla") return Arm::kVanilla;
  if (name == "vanilla-matched") return Arm::kVanillaMatched;
  if (name == "answer-only") return Arm::kAnswerOnly;
  TSFT_FAIL("unknown arm '{}' (theorem, vanilla, vanilla-matched, answer-only)", name);
}

const char* render_arm_name(Arm arm) {
  switch (arm) {
    case Arm::kTheorem:
      return "theorem";
    case Arm::kVanilla:
      return "vanilla";
    case Arm::kVanillaMatched:
      return "vanilla-matched";
    case Arm::kAnswerOnly:
      return "answer-only";
  }
  return "?";
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

std::string theorem_target(const nlohmann::json& p) {
  const auto& steps = p.at("solution").at("steps");
  std::string out;
  for (size_t k = 0; k < steps.size(); ++k) {
    const auto& st = steps[k];
    if (steps.size() > 1) out += "Step " + std::to_string(k + 1) + ".\n";
    out +=
        "Theorem: " + st.at("name").get<std::string>() + ". " + st.at("statement").get<std::string>() + "\n";
    for (auto& l : st.at("cond")) out += l.get<std::string>() + "\n";
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
