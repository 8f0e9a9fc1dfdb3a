// Strict gen configs and catalog files (issue 16): a typo, a wrong type or a value out of range is an
// error naming the file, the line, the key and the closest valid key.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "test_util.hpp"
#include "theorems/catalog.hpp"
#include "theorems/generate.hpp"

using namespace tsft;
namespace fs = std::filesystem;

namespace {

std::string gen_error(const std::string& text) {
  try {
    gen_config_from_toml_text(text, "g.toml");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// A copy of the shipped catalog with the first `from` in `file` replaced by `to`; returns the error of
// catalog_load and, in *line, the 1-based line of the change.
std::string catalog_error(const std::string& file, const std::string& from, const std::string& to,
                          int* line) {
  tsft_test::TempDir t;
  for (auto& e : fs::directory_iterator(catalog_default_dir()))
    if (e.path().extension() == ".toml") fs::copy_file(e.path(), t.path / e.path().filename());
  std::string text = fs_read_text(t / file);
  size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  text.replace(at, from.size(), to);
  *line = 1 + (int)std::count(text.begin(), text.begin() + at, '\n');
  fs_write_atomic(t / file, text);
  try {
    catalog_load(t.str());
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

void expect_has(const std::string& msg, const std::string& part) {
  EXPECT_NE(msg.find(part), std::string::npos) << "missing '" << part << "' in: " << msg;
}

}  // namespace

TEST(StrictGenConfig, TypoNamesLineKeyAndSuggestion) {
  std::string m = gen_error("[gen]\nseed = 1\ncue_rat = 0.5\n");
  expect_has(m, "g.toml:3: [gen] cue_rat: unknown key (did you mean cue_rate?)");
  m = gen_error("[gen]\n[gen.corpus]\nstep_drill = 3\n");
  expect_has(m, "g.toml:3: [gen.corpus] step_drill: unknown key (did you mean step_drills?)");
  m = gen_error("[gen]\n[gen.sizes]\ntset = 3\n");
  expect_has(m, "did you mean test?");
  m = gen_error("seed = 1\nformt = \"mc\"\n");  // no [gen]: the top level is the gen table
  expect_has(m, "g.toml:2: [gen] formt: unknown key (did you mean format?)");
}

TEST(StrictGenConfig, WrongTypeAndRange) {
  expect_has(gen_error("[gen]\nseed = \"one\"\n"), "g.toml:2: [gen] seed: must be an integer");
  expect_has(gen_error("[gen]\n\ncue_rate = 1.5\n"), "g.toml:3: [gen] cue_rate: 1.5 is out of range [0, 1]");
  expect_has(gen_error("[gen]\nformat = \"MC\"\n"), "'MC' is not one of open | mc");
  expect_has(gen_error("[gen]\nsizes = 3\n"), "[gen] sizes: must be a table");
  expect_has(gen_error("[gen]\n[gen.corpus]\nstep_drills_eval_facts = 1\n"), "must be true or false");
  EXPECT_EQ(gen_error("[gen]\n[gen.ranges.pythagoras]\na = [2, 4]\n"), "");  // free-form, its own rule
  for (const char* bad : {"[2, \"4\"]", "[2.0, 4]", "[2, 4, true]", "[2]"})  // no silent 0 for a non-integer
    expect_has(gen_error(std::string("[gen]\n[gen.ranges.pythagoras]\na = ") + bad + "\n"),
               "[gen] ranges.pythagoras.a: must be [lo, hi] or [lo, hi, step] of integers");
}

TEST(StrictCatalog, ShippedCatalogLoads) {
  EXPECT_NO_THROW(catalog_load(catalog_default_dir()));
}

TEST(StrictCatalog, TyposNameFileLineKeyAndSuggestion) {
  int line = 0;
  std::string m = catalog_error("algebra.toml", "\nsym = ", "\nsymb = ", &line);
  expect_has(m, "algebra.toml:" + std::to_string(line + 1) + ": ");
  expect_has(m, "unknown key 'symb' (did you mean sym?)");
  m = catalog_error("algebra.toml", "\nstatement = ", "\nstatment = ", &line);
  expect_has(m, "algebra.toml:" + std::to_string(line + 1) + ": theorem '");
  expect_has(m, "did you mean statement?");
  m = catalog_error("algebra.toml", "\nsetup = ", "\nset_up = ", &line);
  expect_has(m, "did you mean setup?");
  m = catalog_error("world.toml", "\nintro_frames = ", "\nintro_frame = ", &line);
  expect_has(m, "world.toml:" + std::to_string(line + 1) + ": world: unknown key 'intro_frame'");
  m = catalog_error("world.toml", "\nletters = ", "\nleters = ", &line);
  expect_has(m, "did you mean letters?");
}

TEST(StrictCatalog, OptionalFieldsOfTheWrongTypeAreErrors) {
  int line = 0;
  std::string m = catalog_error("algebra.toml", "\nrole = ", "\nscale = \"no\"\nrole = ", &line);
  expect_has(m, "algebra.toml:" + std::to_string(line + 1) + ": ");
  expect_has(m, "'scale' must be true or false");
  m = catalog_error("algebra.toml", "\nrole = ", "\nstep = 1.5\nrole = ", &line);
  expect_has(m, "'step' must be an integer");
}
