// The shared JSONL reader: blank lines, CRLF, errors naming file:line (and field), torn-tail policies.
#include <gtest/gtest.h>

#include <sstream>

#include "core/fs.hpp"
#include "core/jsonl.hpp"
#include "st_test_util.hpp"

namespace tsft {
namespace {

using test::expect_error;
using test::TempDir;

std::vector<size_t> lines_of(const std::string& path, const JsonlOptions& opt = {}, bool* torn = nullptr) {
  std::vector<size_t> out;
  bool t = jsonl_for_each(
      path, [&](JsonlRecord& r) { out.push_back(r.line); }, opt);
  if (torn) *torn = t;
  return out;
}

TEST(Jsonl, ReadsEveryLineOfAGoodFile) {
  TempDir tmp;
  fs_write_atomic(tmp / "a.jsonl", "{\"a\": 1}\n[2, 3]\n\"x\"\n");
  auto v = jsonl_read(tmp / "a.jsonl");
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0]["a"], 1);
  EXPECT_EQ(v[1][1], 3);
  EXPECT_EQ(v[2], "x");
  EXPECT_EQ(lines_of(tmp / "a.jsonl"), (std::vector<size_t>{1, 2, 3}));
}

TEST(Jsonl, SkipsBlankLinesButKeepsTheirNumbers) {
  TempDir tmp;
  fs_write_atomic(tmp / "b.jsonl", "\n{\"a\": 1}\n  \t\n\r\n{\"a\": 2}\n\n");
  EXPECT_EQ(lines_of(tmp / "b.jsonl"), (std::vector<size_t>{2, 5}));
  fs_write_atomic(tmp / "e.jsonl", "");
  EXPECT_TRUE(jsonl_read(tmp / "e.jsonl").empty());
}

TEST(Jsonl, ReadsCrlfLikeLf) {
  TempDir tmp;
  fs_write_atomic(tmp / "c.jsonl", "{\"a\": \"x\"}\r\n{\"a\": 2}\r\n");
  std::vector<std::string> texts;
  jsonl_for_each(tmp / "c.jsonl", [&](JsonlRecord& r) { texts.emplace_back(r.text); });
  EXPECT_EQ(texts, (std::vector<std::string>{"{\"a\": \"x\"}", "{\"a\": 2}"}));
  auto v = jsonl_read(tmp / "c.jsonl");
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0]["a"], "x");  // no '\r' leaks into values
}

TEST(Jsonl, BadJsonMidFileNamesFileAndLineUnderEveryPolicy) {
  TempDir tmp;
  std::string p = tmp / "bad.jsonl";
  fs_write_atomic(p, "{\"a\": 1}\n\n{\"a\": \n{\"a\": 3}\n");
  for (JsonlTail tail : {JsonlTail::kStrict, JsonlTail::kDropTorn})
    expect_error([&] { jsonl_read(p, {tail}); }, {p + ":3: invalid JSON"});
  fs_write_atomic(p, "{\"a\": 1e999}\n");  // out_of_range, not parse_error
  expect_error([&] { jsonl_read(p); }, {p + ":1: invalid JSON"});
}

TEST(Jsonl, TornLastLineIsAnErrorWhenStrictAndDroppedWhenAsked) {
  TempDir tmp;
  std::string p = tmp / "torn.jsonl";
  fs_write_atomic(p, "{\"a\": 1}\n{\"a\": 2}\n{\"a\": ");
  expect_error([&] { jsonl_read(p); }, {p + ":3: invalid JSON"});
  bool torn = false;
  EXPECT_EQ(lines_of(p, {JsonlTail::kDropTorn}, &torn), (std::vector<size_t>{1, 2}));
  EXPECT_TRUE(torn);
  // An unterminated last line that parses is a record under both policies.
  fs_write_atomic(p, "{\"a\": 1}\n{\"a\": 2}");
  for (JsonlTail tail : {JsonlTail::kStrict, JsonlTail::kDropTorn}) {
    EXPECT_EQ(lines_of(p, {tail}, &torn), (std::vector<size_t>{1, 2}));
    EXPECT_FALSE(torn);
  }
  // A torn line that is not the last is corruption, not a crash: always an error.
  fs_write_atomic(p, "{\"a\": \n{\"a\": 2}\n");
  expect_error([&] { jsonl_read(p, {JsonlTail::kDropTorn}); }, {p + ":1: invalid JSON"});
}

TEST(Jsonl, MissingFileIsAnErrorUnlessAllowed) {
  TempDir tmp;
  std::string p = tmp / "nope.jsonl";
  expect_error([&] { jsonl_read(p); }, {p, "cannot open"});
  EXPECT_TRUE(jsonl_read(p, {JsonlTail::kStrict, true}).empty());
}

TEST(Jsonl, MaxRecordsStopsReadingBeforeTheRest) {
  TempDir tmp;
  std::string p = tmp / "m.jsonl";
  fs_write_atomic(p, "{\"a\": 1}\n\n{\"a\": 2}\n{\"a\": \n");  // line 4 is bad, but never read
  JsonlOptions opt;
  opt.max_records = 2;
  EXPECT_EQ(lines_of(p, opt), (std::vector<size_t>{1, 3}));
  opt.max_records = 1;
  EXPECT_EQ(lines_of(p, opt), (std::vector<size_t>{1}));
  opt.max_records = 3;
  expect_error([&] { lines_of(p, opt); }, {p + ":4: invalid JSON"});
}

TEST(Jsonl, FieldAccessorsNameFileLineAndField) {
  std::istringstream in("{\"text\": \"hi\", \"n\": 3}\n[1]\n");
  std::vector<std::string> errors;
  jsonl_for_each(in, "in.jsonl", [&](JsonlRecord& r) {
    if (r.line == 1) {
      EXPECT_EQ(r.str("text"), "hi");
      EXPECT_EQ(r.field("n"), 3);
      EXPECT_EQ(r.where(), "in.jsonl:1");
      expect_error([&] { r.str("n"); }, {"in.jsonl:1: field 'n' must be a string"});
      expect_error([&] { r.field("m"); }, {"in.jsonl:1: missing field 'm'"});
    } else {
      expect_error([&] { r.field("text"); }, {"in.jsonl:2: missing field 'text'"});
    }
  });
}

// A reader that trusts a field's type (get<std::string>() of a number) must not escape as nlohmann's bare
// type_error: the shared reader names file and line, and keeps the library's description of the types.
TEST(Jsonl, AMistypedFieldInAReaderNamesFileAndLine) {
  std::istringstream in("{\"text\": \"hi\"}\n{\"text\": 7}\n");
  std::vector<std::string> got;
  expect_error(
      [&] {
        jsonl_for_each(in, "in.jsonl", [&](JsonlRecord& r) { got.push_back(r.value["text"].get<std::string>()); });
      },
      {"in.jsonl:2: a field has the wrong type", "type must be string, but is number"});
  EXPECT_EQ(got, std::vector<std::string>{"hi"});
}

// Whole JSON files the project reads back (metrics.json, trainer_state.json, stage markers, ...): a file
// that does not parse names itself, a missing one too.
TEST(Jsonl, JsonFileErrorsNameTheFile) {
  TempDir t;
  const std::string p = t / "m.json";
  fs_write_atomic(p, "{\"a\": [1, 2]}");
  EXPECT_EQ(json_read_file(p)["a"][1], 2);
  fs_write_atomic(p, "{\"a\": [1, 2");
  expect_error([&] { json_read_file(p); }, {p + ": invalid JSON", "parse error"});
  fs_write_atomic(p, "{\"a\": 1e999}");
  expect_error([&] { json_read_file(p); }, {p + ": invalid JSON"});
  expect_error([&] { json_read_file(t / "none.json"); }, {t / "none.json"});
}

TEST(Jsonl, RawLinesForCallersThatParseThemselves) {
  std::istringstream in("a\r\n\n  \nb\nc");
  std::vector<std::pair<std::string, size_t>> got;
  jsonl_for_each_line(in, [&](std::string_view t, size_t no) { got.push_back({std::string(t), no}); });
  EXPECT_EQ(got, (std::vector<std::pair<std::string, size_t>>{{"a", 1}, {"b", 4}, {"c", 5}}));
}

}  // namespace
}  // namespace tsft
