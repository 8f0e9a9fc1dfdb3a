#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "core/error.hpp"
#include "util.hpp"

using namespace tsft;

TEST(Catalog, CoversFourDomainsWithAtLeast40Theorems) {
  const Catalog& c = tsft_test::catalog();
  EXPECT_GE(c.theorems.size(), 40u);
  std::map<std::string, int> per_domain;
  for (auto& th : c.theorems) {
    ++per_domain[th.domain];
    EXPECT_GE(th.templates.size(), 3u) << th.id;
    EXPECT_NE(kernel_find(th.id), nullptr) << th.id << " has no kernel";
    EXPECT_FALSE(th.statement.empty()) << th.id;
    EXPECT_FALSE(th.premises.empty()) << th.id;
  }
  for (auto d : {"algebra", "geometry", "number_theory", "counting"}) EXPECT_GE(per_domain[d], 5) << d;
  EXPECT_EQ(c.hash.size(), 16u);
}

// Every probe type is implemented for every theorem unless the catalog lists it as an exception with a
// reason (automatic checks alone are not enough: the catalog must say why).
TEST(Catalog, EveryProbeSupportedOrExplained) {
  GenConfig cfg;
  cfg.format = "mc";
  World w(tsft_test::catalog(), cfg);
  int supported = 0;
  for (size_t t = 0; t < w.catalog().theorems.size(); ++t) {
    const auto& th = w.catalog().theorems[t];
    for (int p = 1; p <= 12; ++p) {
      std::string type = "P" + std::to_string(p);
      if (w.probe_supported((int)t, type)) {
        ++supported;
        continue;
      }
      auto it = th.probe_exceptions.find(type);
      ASSERT_TRUE(it != th.probe_exceptions.end()) << th.id << " " << type << " unsupported without a catalog reason";
      EXPECT_GT(it->second.size(), 10u) << th.id << " " << type;
    }
  }
  EXPECT_GT(supported, 40 * 8);
}

// Template hygiene: setups show no slot value (so P9 can remove any given), every placeholder resolves.
TEST(Catalog, TemplatesAreWellFormed) {
  for (auto& th : tsft_test::catalog().theorems) {
    for (auto& tp : th.templates) {
      for (auto& s : th.slots)
        EXPECT_EQ(tp.setup.find("{" + s.name + "}"), std::string::npos) << th.id << "/" << tp.id << " shows " << s.name;
    }
  }
  // Realize every template of every theorem once.
  GenConfig cfg;
  World w(tsft_test::catalog(), cfg);
  for (long i = 0; i < 3000; ++i) {
    Recipe r = w.draw("train", i, 0);
    EXPECT_NO_THROW(w.realize(r));
  }
}

TEST(Catalog, ErrorsNameFileAndField) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / "tsft_catalog_bad";
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::copy_file(fs::path(catalog_default_dir()) / "world.toml", dir / "world.toml");
  std::ofstream(dir / "bad.toml") << "[[theorem]]\nid = \"x\"\nname = \"X\"\ndomain = \"algebra\"\n";
  try {
    catalog_load(dir.string());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("bad.toml"), std::string::npos) << m;
    EXPECT_NE(m.find("statement"), std::string::npos) << m;
  }
  fs::remove_all(dir);
}

// Adding a template or a context is data only: a catalog copy with one more template and one more
// context loads and generates with no C++ change.
TEST(Catalog, NewTemplateAndContextNeedNoCode) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / "tsft_catalog_extra";
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (auto& e : fs::directory_iterator(catalog_default_dir()))
    if (e.path().extension() == ".toml") fs::copy_file(e.path(), dir / e.path().filename());
  {
    std::ofstream f(dir / "algebra.toml", std::ios::app);
    f << "\n[[theorem]]\nid = \"linear_equation\"\n";  // duplicate id must fail
  }
  EXPECT_THROW(catalog_load(dir.string()), Error);
  fs::copy_file(fs::path(catalog_default_dir()) / "algebra.toml", dir / "algebra.toml",
                fs::copy_options::overwrite_existing);
  std::string text;
  {
    std::ifstream in(dir / "geometry.toml");
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::string anchor = "  { id = \"plain\", setup = \"Triangle {fig} is given\", ask = \"Find {A}{B}.\" },\n";
  ASSERT_NE(text.find(anchor), std::string::npos);
  text.insert(text.find(anchor) + anchor.size(),
              "  { id = \"kite\", setup = \"A kite string {A}{B} is pulled tight\", ask = \"How long is the string?\" },\n");
  std::ofstream(dir / "geometry.toml") << text;
  {
    std::ifstream in(dir / "world.toml");
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  text.replace(text.find("\"ladder store\"]"), 15, "\"ladder store\", \"windmill\"]");
  std::ofstream(dir / "world.toml") << text;
  Catalog c = catalog_load(dir.string());
  int th = c.theorem_index("pythagoras");
  ASSERT_EQ(c.theorems[th].templates.size(), 4u);
  ASSERT_GE(c.context_index("windmill"), 0);
  GenConfig cfg;
  cfg.theorems = {"pythagoras"};
  World w(c, cfg);
  bool saw_kite = false;
  for (long i = 0; i < 200; ++i) saw_kite |= w.realize(w.draw("train", i, 0)).question.find("kite string") != std::string::npos;
  EXPECT_TRUE(saw_kite);
  fs::remove_all(dir);
}
