#include "annotate/prompt.hpp"

#include <toml++/toml.h>

#include <regex>

#include "core/config_schema.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "theorems/catalog.hpp"

namespace tsft::annotate {

namespace {
const std::map<std::string, std::vector<std::string>>& allowed() {
  static const std::map<std::string, std::vector<std::string>> a = {
      {"system", {}}, {"user", {"problem", "solution", "answer", "theorems"}}, {"retry", {"reason"}}};
  return a;
}

std::vector<std::string> placeholders(const std::string& text) {
  static const std::regex ph(R"(\{\{([^{}]*)\}\})");
  std::vector<std::string> out;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), ph); it != std::sregex_iterator(); ++it)
    out.push_back((*it)[1].str());
  return out;
}

std::string text_key(const toml::table& root, const std::string& key, const std::string& file) {
  const toml::node* n = root.get(key);
  TSFT_CHECK(n, "{}: prompt template is missing '{}'", file, key);
  std::string where = fmt::format("{}:{}", file, n->source().begin.line);
  TSFT_CHECK(n->is_string(), "{}: '{}' must be a string", where, key);
  std::string text = n->as_string()->get();
  const auto& ok = allowed().at(key);
  for (auto& p : placeholders(text))
    TSFT_CHECK(std::count(ok.begin(), ok.end(), p), "{}: '{}' uses unknown placeholder {{{{{}}}}}{}", where,
               key, p, schema::suggestion(p, ok));
  return text;
}

void require(const std::string& text, const std::string& name, const std::string& key,
             const std::string& file) {
  auto ps = placeholders(text);
  TSFT_CHECK(std::count(ps.begin(), ps.end(), name), "{}: '{}' must use the placeholder {{{{{}}}}}", file,
             key, name);
}
}  // namespace

std::string prompt_default_path() {
  return std::string(TSFT_SOURCE_DIR) + "/data/annotate/prompt.toml";
}

PromptTemplate prompt_load(const std::string& path) {
  std::string bytes = fs_read_text(path);
  toml::table root;
  try {
    root = toml::parse(bytes, path);
  } catch (const toml::parse_error& e) {
    TSFT_FAIL("{}:{}: {}", path, e.source().begin.line, e.description());
  }
  schema::check_keys(root, path, "prompt", {"system", "user", "retry"});
  PromptTemplate t;
  if (root.contains("system")) t.system = text_key(root, "system", path);
  t.user = text_key(root, "user", path);
  t.retry = text_key(root, "retry", path);
  require(t.user, "problem", "user", path);
  require(t.user, "theorems", "user", path);
  require(t.retry, "reason", "retry", path);
  t.hash = fmt::format("{:016x}", catalog_fnv1a(bytes.data(), bytes.size()));
  return t;
}

std::string prompt_fill(const std::string& text, const std::map<std::string, std::string>& vars) {
  std::string out;
  size_t i = 0;
  for (size_t p; (p = text.find("{{", i)) != std::string::npos;) {
    size_t e = text.find("}}", p);
    if (e == std::string::npos) break;
    auto it = vars.find(text.substr(p + 2, e - p - 2));
    out += text.substr(i, p - i) + (it != vars.end() ? it->second : text.substr(p, e + 2 - p));
    i = e + 2;
  }
  return out + text.substr(i);
}

std::string prompt_theorem_list(const MathCatalog& cat, const std::vector<int>& which) {
  std::string out;
  for (int k : which) {
    const MathTheorem& t = cat.theorems[k];
    std::string prem, vars;
    for (auto& p : t.premises) prem += (prem.empty() ? "" : "; ") + p;
    for (auto& v : t.variables) vars += (vars.empty() ? "" : "; ") + v;
    out += fmt::format("- {}. {}\n  Premises: {}\n  Variables: {}\n", t.name, t.statement, prem, vars);
  }
  if (!out.empty()) out.pop_back();
  return out;
}

nlohmann::json prompt_messages(const PromptTemplate& t, const std::map<std::string, std::string>& vars) {
  nlohmann::json m = nlohmann::json::array();
  if (!t.system.empty()) m.push_back({{"role", "system"}, {"content", t.system}});
  m.push_back({{"role", "user"}, {"content", prompt_fill(t.user, vars)}});
  return m;
}

}  // namespace tsft::annotate
