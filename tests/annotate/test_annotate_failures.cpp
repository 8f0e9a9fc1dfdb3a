// tsft annotate's two kinds of failure against the scripted teacher (teacher_server.hpp): a rejection
// after N re-asks is cached with its reason and tokens (a rerun pays nothing; --retry-rejected asks
// again); an endpoint failure is transient (errors.jsonl, counted, asked again on the next run), and the
// answers rejected before it are kept, so the rerun continues the conversation and pays for them once.
// Exit status: rejections are an outcome (0); a problem left unannotated by the endpoint is unfinished
// work (1, with a line naming errors.jsonl and the count) until a rerun resolves it (0).
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "core/fs.hpp"
#include "teacher_server.hpp"
#include "test_util.hpp"

using namespace tsft_test;
using nlohmann::json;

namespace {
std::string annotate_cmd(const TempDir& t, const std::string& url) {
  return tsft_bin() + " annotate --data " + t / "d.jsonl" + " --format gsm8k --endpoint " + url +
         " --model teacher --out " + t / "out" +
         " --retries 2 --timeout 5 --backoff 0.01 --http-retries 1 --concurrency 2 -q";
}
json summary(const TempDir& t) {
  return json::parse(tsft::fs_read_text(t / "out/summary.json"));
}
}  // namespace

TEST(AnnotateFailures, RejectionIsCachedWithTokensAndRetryRejectedAsksAgain) {
  TempDir t;
  tsft::fs_write_atomic(t / "d.jsonl", teacher_dataset({"valid", "wrong", "fixed"}));
  TeacherServer srv;
  auto r = run_cmd(annotate_cmd(t, srv.url()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(srv.count("wrong"), 3u) << "1 + --retries 2";
  auto rej = read_jsonl(t / "out/rejected.jsonl");
  ASSERT_EQ(rej.size(), 1u);
  EXPECT_EQ(rej[0]["reason"], "wrong_answer");
  EXPECT_EQ(rej[0]["attempts"], 3);
  EXPECT_EQ(rej[0]["prompt_tokens"], 300);
  EXPECT_EQ(rej[0]["completion_tokens"], 30);
  json s = summary(t);
  EXPECT_EQ(s["tokens"], (json{{"prompt", 600}, {"completion", 60}}));  // valid 1 + wrong 3 + fixed 2

  auto again = run_cmd(annotate_cmd(t, srv.url()));  // the rejection is kept: nothing is asked
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(srv.total(), 6u);
  EXPECT_EQ(summary(t)["tokens"], s["tokens"]);

  auto retry = run_cmd(annotate_cmd(t, srv.url()) + " --retry-rejected");
  ASSERT_EQ(retry.exit_code, 0) << retry.output;
  EXPECT_EQ(srv.count("wrong"), 6u) << "only the rejected problem is asked again";
  EXPECT_EQ(srv.total(), 9u);
  rej = read_jsonl(t / "out/rejected.jsonl");
  ASSERT_EQ(rej.size(), 1u);
  EXPECT_EQ(rej[0]["attempts"], 3);
  EXPECT_EQ(rej[0]["prompt_tokens"], 600) << "the first rejection's tokens stay in the total";
  EXPECT_EQ(summary(t)["tokens"], (json{{"prompt", 900}, {"completion", 90}}));
  EXPECT_EQ(summary(t)["accepted"], 2);
}

// The cache is checked line by line on load: an edited record is an error naming annotations.jsonl, the
// line and the field (not a bare type_error when the field is read), and the cache is left as it was.
TEST(AnnotateFailures, EditedCacheRecordIsRefusedByLineAndField) {
  TempDir t;
  tsft::fs_write_atomic(t / "d.jsonl", teacher_dataset({"valid", "wrong"}));
  TeacherServer srv;
  ASSERT_EQ(run_cmd(annotate_cmd(t, srv.url())).exit_code, 0);
  const std::string cache = t / "out/annotations.jsonl";
  auto recs = read_jsonl(cache);
  ASSERT_EQ(recs.size(), 2u);
  auto expect_refused = [&](json second, const std::string& what) {
    std::string text = recs[0].dump() + "\n" + second.dump() + "\n";
    tsft::fs_write_atomic(cache, text);
    auto r = run_cmd(annotate_cmd(t, srv.url()));
    EXPECT_NE(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("annotations.jsonl:2: " + what), std::string::npos) << r.output;
    EXPECT_EQ(tsft::fs_read_text(cache), text);
  };
  json bad = recs[1];
  bad["prompt_tokens"] = "many";
  expect_refused(bad, "field 'prompt_tokens' must be an integer");
  bad = recs[1];
  bad["status"] = "done";
  expect_refused(bad, "field 'status' must be accepted, rejected or partial");
  bad = recs[1];
  bad.erase("key");
  expect_refused(bad, "missing field 'key'");
  bad = recs[1];
  bad["status"] = "accepted";
  bad["target"] = "x";
  bad["theorems"] = {1};
  expect_refused(bad, "field 'theorems' must be an array of strings");
  EXPECT_EQ(srv.total(), 4u) << "no refused run asked the teacher";  // valid 1 + wrong 3
}

TEST(AnnotateFailures, EndpointFailureIsRetriedAndRejectedAnswersAreNotPaidTwice) {
  TempDir t;
  tsft::fs_write_atomic(t / "d.jsonl", teacher_dataset({"valid", "reaskdown", "down"}));
  TeacherServer srv;
  auto r = run_cmd(annotate_cmd(t, srv.url()));
  EXPECT_EQ(r.exit_code, 1) << "problems left unannotated: the run is incomplete\n" << r.output;
  EXPECT_NE(r.output.find("1 accepted, 0 rejected, 0 without a reference solution, 2 endpoint errors"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("2 problems not annotated because of endpoint errors (reasons in " + t / "out" +
                          "/errors.jsonl); run the same command again to retry them"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(srv.count("reaskdown"), 3u) << "the answer, then its re-ask failing 1 + --http-retries 1 times";
  EXPECT_EQ(srv.count("down"), 2u);
  json s = summary(t);
  EXPECT_EQ(s["accepted"], 1);
  EXPECT_EQ(s["rejected"]["total"], 0) << "an endpoint failure is never a rejection";
  EXPECT_EQ(s["not_annotated"]["endpoint_error"], 2);
  EXPECT_EQ(s["tokens"], (json{{"prompt", 200}, {"completion", 20}})) << "valid + the rejected answer";
  auto errs = read_jsonl(t / "out/errors.jsonl");
  ASSERT_EQ(errs.size(), 2u);
  EXPECT_EQ(errs[0]["answers_rejected_before"], 1);
  EXPECT_EQ(errs[0]["prompt_tokens"], 100);
  EXPECT_NE(errs[0]["error"].get<std::string>().find("HTTP 500"), std::string::npos) << errs[0];
  EXPECT_EQ(errs[1]["answers_rejected_before"], 0);

  srv.reask_down = false;  // the endpoint recovers for the re-ask; "down" stays down
  auto again = run_cmd(annotate_cmd(t, srv.url()));
  EXPECT_EQ(again.exit_code, 1) << "\"down\" is still unannotated\n" << again.output;
  EXPECT_NE(again.output.find("1 problems not annotated because of endpoint errors"), std::string::npos)
      << again.output;
  ASSERT_EQ(srv.count("reaskdown"), 4u) << "the rejected answer is not asked for again";
  const json& msgs = srv.requests["reaskdown"][3]["messages"];
  EXPECT_EQ(msgs.size(), 4u) << "the conversation continues: system, user, rejected answer, validator";
  EXPECT_EQ(srv.count("valid"), 1u);
  EXPECT_EQ(srv.count("down"), 4u) << "a transient failure is asked again";
  s = summary(t);
  EXPECT_EQ(s["accepted"], 2);
  EXPECT_EQ(s["not_annotated"]["endpoint_error"], 1);
  EXPECT_EQ(s["tokens"], (json{{"prompt", 300}, {"completion", 30}})) << "each answer paid once";
  EXPECT_EQ(s["attempts"]["2"], 1) << "the continued problem was accepted on its second answer";
  EXPECT_EQ(read_jsonl(t / "out/errors.jsonl").size(), 1u);

  srv.down = false;  // the endpoint is healthy again: the last problem is resolved, the run is complete
  auto healthy = run_cmd(annotate_cmd(t, srv.url()));
  EXPECT_EQ(healthy.exit_code, 0) << healthy.output;
  EXPECT_EQ(healthy.output.find("not annotated because of endpoint errors"), std::string::npos)
      << healthy.output;
  EXPECT_EQ(srv.count("down"), 5u) << "only the unresolved problem is asked again";
  EXPECT_EQ(srv.total(), 1u + 4u + 5u);
  s = summary(t);
  EXPECT_EQ(s["accepted"], 3);
  EXPECT_EQ(s["not_annotated"]["endpoint_error"], 0);
  EXPECT_TRUE(read_jsonl(t / "out/errors.jsonl").empty());
}

TEST(AnnotateFailures, UnknownModelStopsTheRunInsteadOfFailingEveryProblem) {
  TempDir t;
  tsft::fs_write_atomic(t / "d.jsonl", teacher_dataset({"gone", "valid"}));
  TeacherServer srv;
  auto r = run_cmd(annotate_cmd(t, srv.url()));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("HTTP 404"), std::string::npos) << r.output;
  EXPECT_EQ(srv.count("gone"), 1u) << "a 404 is not retried";
}
