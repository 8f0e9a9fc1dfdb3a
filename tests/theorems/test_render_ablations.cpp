// Theorem-target ablations (issue 12 item 5): each ablated target is the theorem target minus exactly
// the lines of one kind, read from the problem record itself (the statement line of every step, its Cond
// lines, its Map lines), with every other line (step headers, the other kinds, Exec, the box) kept in
// order; answer-only is the box alone. Checked over single-step, chained, premise-violation and
// unanswerable items of every theorem.
#include <gtest/gtest.h>

#include "theorems/render.hpp"
#include "util.hpp"

using namespace tsft;
using nlohmann::json;

namespace {

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> v;
  size_t a = 0;
  while (a <= s.size()) {
    size_t b = s.find('\n', a);
    if (b == std::string::npos) b = s.size();
    v.push_back(s.substr(a, b - a));
    a = b + 1;
  }
  return v;
}

// The lines an ablation drops, from the record (not from the renderer).
std::vector<std::string> dropped(const json& p, Arm arm) {
  std::vector<std::string> out;
  for (auto& st : p["solution"]["steps"]) {
    if (arm == Arm::kTheoremNoStatement)
      out.push_back("Theorem: " + st["name"].get<std::string>() + ". " + st["statement"].get<std::string>());
    const char* key = arm == Arm::kTheoremNoCond ? "cond" : arm == Arm::kTheoremNoMap ? "map" : nullptr;
    if (key)
      for (auto& l : st[key]) out.push_back(l.get<std::string>());
  }
  return out;
}

// `full` without the lines of `drop` (each removed once, in order); fails when one is not found.
std::vector<std::string> remove_in_order(const std::vector<std::string>& full,
                                         const std::vector<std::string>& drop) {
  std::vector<std::string> out;
  size_t k = 0;
  for (auto& l : full) {
    if (k < drop.size() && l == drop[k]) {
      k++;
      continue;
    }
    out.push_back(l);
  }
  EXPECT_EQ(k, drop.size()) << "a dropped line is not in the theorem target";
  return out;
}

const char* prefix_of(Arm arm) {
  return arm == Arm::kTheoremNoStatement ? "Theorem:" : arm == Arm::kTheoremNoCond ? "Cond:" : "Map:";
}

size_t count_prefix(const std::vector<std::string>& ls, const std::string& pre) {
  size_t n = 0;
  for (auto& l : ls) n += l.rfind(pre, 0) == 0;
  return n;
}

std::vector<json> sample_problems() {
  GenConfig c = tsft_test::small_config(300, 0, 0);
  c.chain_fraction = 0.3;
  c.violation_fraction = 0.1;
  c.unanswerable_fraction = 0.1;
  World w(tsft_test::catalog(), c);
  std::vector<json> out;
  for (long i = 0; i < 300; i++) out.push_back(problem_to_json(w.realize(w.draw("train", i, 0))));
  return out;
}

}  // namespace

TEST(RenderAblations, EachDropsExactlyItsLines) {
  const Arm ablations[] = {Arm::kTheoremNoStatement, Arm::kTheoremNoCond, Arm::kTheoremNoMap};
  long multi = 0, nonempty[3] = {0, 0, 0};
  for (const json& p : sample_problems()) {
    std::vector<std::string> thm = lines_of(render_target(p, Arm::kTheorem));
    multi += p["solution"]["steps"].size() > 1;
    for (int a = 0; a < 3; a++) {
      Arm arm = ablations[a];
      std::vector<std::string> drop = dropped(p, arm), abl = lines_of(render_target(p, arm));
      nonempty[a] += !drop.empty();
      ASSERT_EQ(abl, remove_in_order(thm, drop)) << render_arm_name(arm) << " " << p["id"];
      // Nothing of the dropped kind is left; every other kind is kept as often as in the theorem target.
      EXPECT_EQ(count_prefix(abl, prefix_of(arm)), 0u) << p["id"];
      for (Arm other : ablations) {
        if (other == arm) continue;
        EXPECT_EQ(count_prefix(abl, prefix_of(other)), count_prefix(thm, prefix_of(other))) << p["id"];
      }
      EXPECT_EQ(abl.back(), render_box(p));
      json chat = render_chat(p, arm);
      EXPECT_EQ(chat["arm"], render_arm_name(arm));
      EXPECT_EQ(chat["messages"][0]["content"], p["question"]);
    }
  }
  EXPECT_GT(multi, 10);  // chained items: step headers survive every ablation
  for (long n : nonempty) EXPECT_GT(n, 200);
}

TEST(RenderAblations, AnswerOnlyIsTheBoxAlone) {
  for (const json& p : sample_problems()) {
    std::string ao = render_target(p, Arm::kAnswerOnly);
    ASSERT_EQ(ao, "\\boxed{" + p["answer"].get<std::string>() + "}");
    EXPECT_EQ(ao.find('\n'), std::string::npos);
  }
}

TEST(RenderAblations, NamesRoundTripAndUnknownIsAnError) {
  for (const std::string& n : render_arm_names()) EXPECT_EQ(render_arm_name(render_parse_arm(n)), n);
  EXPECT_EQ(render_arm_names().size(), 7u);
  try {
    render_parse_arm("theorem-no-exec");
    FAIL() << "expected an error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("theorem-no-map"), std::string::npos) << e.what();
  }
}
