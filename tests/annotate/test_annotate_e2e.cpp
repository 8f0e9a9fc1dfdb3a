// tsft annotate end to end against a scripted teacher on 127.0.0.1 (teacher_server.hpp): every fixture
// response ends as accepted or rejected with its reason; reruns ask nothing twice; a run killed with
// SIGKILL (plus a torn last cache line) resumes to the same files as an uninterrupted run.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/fs.hpp"
#include "serve/spawn_util.hpp"
#include "teacher_server.hpp"
#include "test_util.hpp"

using namespace tsft_test;
using nlohmann::json;

namespace {
std::vector<std::string> annotate_argv(const TempDir& t, const std::string& url, const std::string& out) {
  return {tsft_bin(),  "annotate", "--data",         t / "d.jsonl", "--format",  "gsm8k", "--endpoint", url,
          "--model",   "teacher",  "--out",          out,           "--retries", "1",     "--timeout",  "0.5",
          "--backoff", "0.01",     "--http-retries", "2",           "-q"};
}
std::string joined(const std::vector<std::string>& argv, const std::string& extra = "") {
  std::string s;
  for (auto& a : argv) s += a + " ";
  return s + extra;
}
json without_run(json s) {
  s.erase("this_run");
  s.erase("endpoint");
  return s;
}
}  // namespace

TEST(AnnotateE2E, ScriptedTeacherEveryFixtureResponse) {
  TempDir t;
  const std::vector<std::string> cases = {"valid", "wrong",   "unknown",   "unparsable", "map",
                                          "fixed", "timeout", "ratelimit", "down"};
  tsft::fs_write_atomic(t / "d.jsonl", teacher_dataset(cases));
  TeacherServer srv;
  std::string cmd = joined(annotate_argv(t, srv.url(), t / "out"), "--concurrency 3 --rate 200");
  auto r = run_cmd(cmd);
  EXPECT_EQ(r.exit_code, 1) << "\"down\" is left unannotated\n" << r.output;
  EXPECT_NE(r.output.find("4 accepted, 4 rejected, 0 without a reference solution, 1 endpoint errors"),
            std::string::npos)
      << r.output;
  json s = json::parse(tsft::fs_read_text(t / "out/summary.json"));
  EXPECT_EQ(s["accepted"], 4);
  EXPECT_EQ(
      s["rejected"]["by_reason"],
      (json{{"wrong_answer", 1}, {"unknown_theorem", 1}, {"unparsable", 1}, {"map_value_not_found", 1}}));
  EXPECT_EQ(s["not_annotated"]["endpoint_error"], 1);
  // 13 answered requests (valid 1, fixed 2, timeout 1, ratelimit 1, four rejected cases 2 each), 100 + 10
  // tokens each; the timed-out, 429 and 500 requests carry no usage.
  EXPECT_EQ(s["tokens"], (json{{"prompt", 1300}, {"completion", 130}}));
  EXPECT_EQ(s["theorem_use"], (json{{"total_from_groups", 4}, {"remaining_after_removal", 4}}));
  EXPECT_EQ(srv.count("wrong"), 2u);
  EXPECT_EQ(srv.count("timeout"), 2u);
  EXPECT_EQ(srv.count("ratelimit"), 2u);
  EXPECT_EQ(srv.count("down"), 3u) << "1 + --http-retries 2";
  ASSERT_EQ(srv.count("fixed"), 2u);
  const json& re_ask = srv.requests["fixed"][1]["messages"];
  EXPECT_EQ(re_ask.size(), 4u);  // system, user, the rejected answer, the validator's message
  EXPECT_NE(re_ask[2]["content"].get<std::string>().find("\\boxed{35}"), std::string::npos);
  EXPECT_NE(re_ask[3]["content"].get<std::string>().find("is not equal to the reference answer '34'"),
            std::string::npos)
      << re_ask[3];
  std::string first_prompt = srv.requests["valid"][0]["messages"][1]["content"];
  EXPECT_NE(first_prompt.find("- Total of equal groups. If there are n groups"), std::string::npos)
      << "BM25 candidates are in the prompt:\n"
      << first_prompt;

  auto thm = read_jsonl_complete(t / "out/theorem.jsonl"), van = read_jsonl_complete(t / "out/vanilla.jsonl");
  ASSERT_EQ(thm.size(), 4u);
  ASSERT_EQ(van.size(), 4u);
  for (size_t i = 0; i < 4; i++) {
    EXPECT_EQ(thm[i]["id"], van[i]["id"]) << "both arms hold the same accepted problems";
    EXPECT_EQ(thm[i]["messages"][0], van[i]["messages"][0]);
  }
  EXPECT_EQ(van[0]["messages"][1]["content"],
            "The baker makes 6 * 14 = 84 rolls.\n84 - 50 = 34 rolls are left.\n\\boxed{34}");
  std::string target = thm[0]["messages"][1]["content"];
  EXPECT_EQ(target.rfind("Step 1.\nTheorem: Total of equal groups. If there are n groups", 0), 0u) << target;
  auto probs = read_jsonl_complete(t / "out/problems.jsonl");
  ASSERT_EQ(probs.size(), 4u);
  EXPECT_EQ(probs[3]["id"], thm[3]["id"]);
  EXPECT_EQ(probs[3]["answer"], "34");
  auto rej = read_jsonl_complete(t / "out/rejected.jsonl");
  ASSERT_EQ(rej.size(), 4u);
  EXPECT_EQ(rej[0]["reason"], "wrong_answer");
  EXPECT_EQ(rej[0]["attempts"], 2);

  size_t before = srv.total();  // a rerun asks only for the endpoint failure (not cached)
  auto again = run_cmd(cmd);
  EXPECT_EQ(again.exit_code, 1) << again.output;
  EXPECT_EQ(srv.total(), before + 3);
  EXPECT_EQ(without_run(json::parse(tsft::fs_read_text(t / "out/summary.json"))), without_run(s));
}

TEST(AnnotateE2E, ResumesAfterKill9WithATornLastLine) {
  TempDir t;
  std::vector<std::string> cases;
  for (int i = 0; i < 10; i++)
    cases.push_back(i % 4 == 3 ? "wrong" + std::to_string(i) : "valid" + std::to_string(i));
  tsft::fs_write_atomic(t / "d.jsonl", teacher_dataset(cases));
  {
    TeacherServer ref;
    auto r = run_cmd(joined(annotate_argv(t, ref.url(), t / "ref")));
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  TeacherServer srv;
  srv.delay_s = 0.15;
  auto argv = annotate_argv(t, srv.url(), t / "out");
  argv.insert(argv.end(), {"--concurrency", "1"});
  {
    Child c(argv, t / "run1.log");
    ASSERT_GT(c.pid, 0);
    for (int k = 0; k < 400 && read_jsonl_complete(t / "out/annotations.jsonl").size() < 3; k++)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    kill(c.pid, SIGKILL);
  }
  std::vector<json> kept = read_jsonl_complete(t / "out/annotations.jsonl");
  ASSERT_GE(kept.size(), 3u);
  ASSERT_LT(kept.size(), cases.size()) << "killed before the end";
  std::ofstream(t / "out/annotations.jsonl", std::ios::app) << R"({"key":"0123","id":"gsm8k/)";  // torn
  std::map<std::string, size_t> asked;
  for (auto& c : cases) asked[c] = srv.count(c);
  srv.delay_s = 0;
  auto r = run_cmd(joined(argv));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (auto& rec : kept) {  // finished problems are not asked again
    std::string id = rec["id"];
    std::string c = cases[std::stoi(id.substr(id.find('/') + 1)) - 1];
    EXPECT_EQ(srv.count(c), asked[c]) << c;
  }
  for (auto f : {"theorem.jsonl", "vanilla.jsonl", "rejected.jsonl", "problems.jsonl"})
    EXPECT_EQ(tsft::fs_read_text(t / ("out/" + std::string(f))),
              tsft::fs_read_text(t / ("ref/" + std::string(f))))
        << f;
  EXPECT_EQ(without_run(json::parse(tsft::fs_read_text(t / "out/summary.json"))),
            without_run(json::parse(tsft::fs_read_text(t / "ref/summary.json"))));
  EXPECT_EQ(read_jsonl_complete(t / "out/annotations.jsonl").size(), cases.size())
      << "the torn line was dropped";
}

TEST(AnnotateE2E, ConvertWritesProblemRecordsForEval) {
  TempDir t;
  auto r = run_cmd(tsft_bin() + " convert --format math --data " + std::string(TSFT_SOURCE_DIR) +
                   "/tests/data/adapters/math.jsonl --out " + t / "p.jsonl");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto ps = read_jsonl_complete(t / "p.jsonl");
  ASSERT_EQ(ps.size(), 2u);
  EXPECT_EQ(ps[0]["answer"], "\\frac{7}{8}");
  EXPECT_EQ(ps[1]["question"], "Find the positive root of $x^2-7x+10=0$ that is larger.");
  EXPECT_EQ(run_cmd(tsft_bin() + " convert --format nope --data x --out y").exit_code, 2);
}
