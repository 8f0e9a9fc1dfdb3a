// Reproducers found by the annotate fuzz targets (fuzz/fuzz_annotate_*.cpp, fuzz/regressions/annotate_*).
#include <gtest/gtest.h>

#include "annotate/math_catalog.hpp"
#include "core/fs.hpp"
#include "fuzz_regression.hpp"
#include "test_util.hpp"

using namespace tsft::annotate;

// fuzz_annotate_catalog: an id with an upper-case letter ("distanceWrate_time") loaded, but MathCatalog::find
// compares ids as lower case, so "Theorem: distanceWrate_time." could never resolve. Ids must be snake_case.
TEST(AnnotateFuzz, UpperCaseIdIsRefused) {
  const std::string path = tsft::test::fuzz_regression("annotate_catalog", "uppercase-id.toml");
  tsft::test::expect_clean_error([&] { math_catalog_load(path); },
                                 {path + ":", "id 'distanceWrate_time' must be snake_case"});
}

// Found while tightening the same target's check (each theorem is found by its name and id, and no
// other): a name equal to another theorem's id made "Theorem: <name>." resolve to that other theorem.
TEST(AnnotateFuzz, NameThatIsAnotherIdIsRefused) {
  tsft_test::TempDir t;
  const std::string entry =
      "domain = \"algebra\"\nstatement = \"s.\"\npremises = [\"p\"]\nvariables = [\"x: y\"]\n";
  tsft::fs_write_atomic(t / "c.toml", "[[theorem]]\nid = \"sum_rule\"\nname = \"Alpha\"\n" + entry +
                                          "[[theorem]]\nid = \"beta\"\nname = \"Sum_Rule\"\n" + entry);
  tsft::test::expect_clean_error([&] { math_catalog_load(t / "c.toml"); },
                                 {t / "c.toml:", "'Sum_Rule' is also the id of"});
  tsft::fs_write_atomic(t / "c.toml", "[[theorem]]\nid = \"a\"\nname = \" Alpha\"\n" + entry);
  tsft::test::expect_clean_error([&] { math_catalog_load(t / "c.toml"); }, {"without surrounding spaces"});
}
