// Catalog reproducers of the toml fuzz target (fuzz/fuzz_toml.cpp, fuzz/regressions/toml) and the range
// checks they led to: a slot's or distractor's `range` is [lo, hi] of two integers with lo <= hi, and
// anything else is an error naming the file, line, owner and key (it used to be read through a null
// pointer for a one-element array, and to become 0 or the default for non-integers).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "fuzz_regression.hpp"
#include "theorems/catalog.hpp"

namespace {
using namespace tsft;
namespace fs = std::filesystem;

// A catalog directory of the default world.toml and algebra.toml, one of them replaced by `text`.
struct CatalogDir {
  fs::path dir = fs::temp_directory_path() / ("tsft_catalog_fuzz_" + std::to_string(::getpid()));
  CatalogDir(const std::string& name, const std::string& text) {
    fs::remove_all(dir);
    fs::create_directories(dir);
    for (const char* f : {"world.toml", "algebra.toml"})
      fs::copy_file(fs::path(catalog_default_dir()) / f, dir / f);
    std::ofstream(dir / name, std::ios::trunc) << text;
  }
  ~CatalogDir() { fs::remove_all(dir); }
};

std::string with(const std::string& file, const std::string& from, const std::string& to) {
  std::string text = fs_read_text(catalog_default_dir() + "/" + file);
  size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return text.replace(at, from.size(), to);
}

TEST(CatalogFuzz, WorldDistractorRangeOfOneElement) {
  // fuzz_toml's first byte picks the input's role ('#' % 3 == 2: world.toml); the rest is the file.
  std::string bytes = test::fuzz_regression_bytes("toml", "world-distractor-range-one-element");
  ASSERT_EQ(bytes[0] % 3, 2);
  CatalogDir d("world.toml", bytes.substr(1));
  test::expect_clean_error([&] { catalog_load(d.dir.string()); },
                           {"world.toml:", "distractor 'steps'", "'range' must be [lo, hi]"});
}

TEST(CatalogFuzz, DistractorRangeMustBeTwoOrderedIntegers) {
  for (const char* bad :
       {"range = [8]", "range = [8, \"70\"]", "range = 8", "range = [8.0, 70]", "range = [8, 70, 1]"}) {
    CatalogDir d("world.toml", with("world.toml", "range = [8, 70]", bad));
    test::expect_clean_error([&] { catalog_load(d.dir.string()); },
                             {"world.toml:42:", "distractor 'age'", "'range'"});
  }
  CatalogDir d("world.toml", with("world.toml", "range = [8, 70]", "range = [70, 8]"));
  test::expect_clean_error([&] { catalog_load(d.dir.string()); }, {"world.toml:42:", "empty range [70, 8]"});
  CatalogDir ok("world.toml", with("world.toml", "range = [8, 70]", "range = [9, 9]"));
  Catalog c = catalog_load(ok.dir.string());
  ASSERT_FALSE(c.distractors.empty());
  EXPECT_EQ(c.distractors[0].lo, 9);
  EXPECT_EQ(c.distractors[0].hi, 9);
}

TEST(CatalogFuzz, SlotRangeMustBeTwoOrderedIntegers) {
  for (const char* bad : {"range = [2]", "range = [\"2\", 9]", "range = 2", "range = [9, 2]"}) {
    CatalogDir d("algebra.toml", with("algebra.toml", "range = [2, 9]", bad));
    test::expect_clean_error([&] { catalog_load(d.dir.string()); }, {"algebra.toml:19:", "range"});
  }
}

}  // namespace
