#include "annotate/math_catalog.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <filesystem>

#include "core/config_schema.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "theorems/catalog.hpp"

namespace tsft::annotate {
namespace fs = std::filesystem;

namespace {
const std::vector<std::string> kKeys = {"id",       "name",      "domain",  "statement",
                                        "premises", "variables", "keywords"};

std::string lower(std::string s) {
  for (char& c : s) c = (char)std::tolower((unsigned char)c);
  return s;
}

std::string at(const std::string& file, const toml::node& n) {
  return fmt::format("{}:{}", file, n.source().begin.line);
}

std::string req_str(const toml::table& t, const char* key, const std::string& where) {
  const toml::node* n = t.get(key);
  TSFT_CHECK(n, "{}: [[theorem]] is missing '{}'", where, key);
  auto v = n->value<std::string>();
  TSFT_CHECK(v && n->is_string() && !v->empty(), "{}: '{}' must be a non-empty string", where, key);
  return *v;
}

std::vector<std::string> req_list(const toml::table& t, const char* key, const std::string& where) {
  auto arr = t[key].as_array();
  TSFT_CHECK(arr && !arr->empty(), "{}: '{}' must be a non-empty array of strings", where, key);
  std::vector<std::string> out;
  for (auto& e : *arr) {
    TSFT_CHECK(e.is_string() && !e.as_string()->get().empty(), "{}: '{}' must hold non-empty strings", where,
               key);
    out.push_back(e.as_string()->get());
  }
  return out;
}

MathTheorem parse_entry(const toml::table& t, const std::string& file) {
  MathTheorem th;
  th.where = at(file, t);
  schema::check_keys(t, file, "[[theorem]]", kKeys);
  th.id = req_str(t, "id", th.where);
  // snake_case: names are looked up ignoring case, ids as written (lower case)
  TSFT_CHECK(th.id.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") == std::string::npos,
             "{}: id '{}' must be snake_case (a-z, 0-9, _)", th.where, th.id);
  th.name = req_str(t, "name", th.where);
  TSFT_CHECK(th.name.find('.') == std::string::npos,
             "{}: name '{}' contains '.', which ends the name on a \"Theorem:\" line", th.where, th.name);
  TSFT_CHECK(
      th.name.find_first_of("\r\n") == std::string::npos && th.name.front() != ' ' && th.name.back() != ' ',
      "{}: name '{}' must be one line without surrounding spaces (it is matched on a \"Theorem:\" "
      "line)",
      th.where, th.name);
  th.domain = req_str(t, "domain", th.where);
  const auto& d = math_catalog_domains();
  TSFT_CHECK(std::count(d.begin(), d.end(), th.domain), "{}: unknown domain '{}'{}", th.where, th.domain,
             schema::suggestion(th.domain, d));
  th.statement = req_str(t, "statement", th.where);
  th.premises = req_list(t, "premises", th.where);
  th.variables = req_list(t, "variables", th.where);
  if (t.contains("keywords")) th.keywords = req_str(t, "keywords", th.where);
  return th;
}

void load_file(const std::string& file, MathCatalog& cat) {
  toml::table root;
  try {
    root = toml::parse_file(file);
  } catch (const toml::parse_error& e) {
    TSFT_FAIL("{}:{}: {}", file, e.source().begin.line, e.description());
  }
  schema::check_keys(root, file, "catalog", {"theorem"});
  auto arr = root["theorem"].as_array();
  TSFT_CHECK(arr, "{}: expected [[theorem]] entries", file);
  for (auto& e : *arr) {
    TSFT_CHECK(e.is_table(), "{}: 'theorem' must be an array of tables", at(file, e));
    cat.theorems.push_back(parse_entry(*e.as_table(), file));
  }
}

void check_unique(const MathCatalog& cat) {
  for (size_t i = 0; i < cat.theorems.size(); i++)
    for (size_t j = 0; j < i; j++) {
      const auto &a = cat.theorems[i], &b = cat.theorems[j];
      TSFT_CHECK(a.id != b.id, "{}: duplicate id '{}' (first at {})", a.where, a.id, b.where);
      TSFT_CHECK(lower(a.name) != lower(b.name), "{}: duplicate name '{}' (first at {})", a.where, a.name,
                 b.where);
      // "Theorem: <x>." resolves x as a name or an id: one may not be another theorem's other
      TSFT_CHECK(lower(a.name) != b.id && lower(b.name) != a.id, "{}: name or id '{}' is also the {} of {}",
                 a.where, lower(a.name) == b.id ? a.name : a.id, lower(a.name) == b.id ? "id" : "name",
                 b.where);
    }
}
}  // namespace

const std::vector<std::string>& math_catalog_domains() {
  static const std::vector<std::string> d = {
      "algebra",       "counting_probability", "geometry",    "intermediate_algebra",
      "number_theory", "prealgebra",           "precalculus", "arithmetic"};
  return d;
}

std::string math_catalog_default_path() {
  return std::string(TSFT_SOURCE_DIR) + "/data/catalog/competition_math.toml";
}

int MathCatalog::find(const std::string& name) const {
  std::string n = lower(name);
  for (size_t i = 0; i < theorems.size(); i++)
    if (lower(theorems[i].name) == n || theorems[i].id == n) return (int)i;
  return -1;
}

MathCatalog math_catalog_load(const std::string& path) {
  std::vector<std::string> files;
  if (fs::is_directory(path)) {
    for (auto& e : fs::directory_iterator(path))
      if (e.path().extension() == ".toml") files.push_back(e.path().string());
    std::sort(files.begin(), files.end());
    TSFT_CHECK(!files.empty(), "{}: no *.toml catalog files", path);
  } else {
    TSFT_CHECK(fs::exists(path), "{}: catalog not found", path);
    files.push_back(path);
  }
  MathCatalog cat;
  uint64_t h = 1469598103934665603ull;
  for (auto& f : files) {
    std::string bytes = fs_read_text(f);
    h = catalog_fnv1a(bytes.data(), bytes.size(), h);
    load_file(f, cat);
  }
  check_unique(cat);
  cat.hash = fmt::format("{:016x}", h);
  return cat;
}

}  // namespace tsft::annotate
