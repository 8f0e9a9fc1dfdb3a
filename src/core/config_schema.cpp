#include "core/config_schema.hpp"

#include <algorithm>

#include "core/error.hpp"

namespace tsft::schema {
using json = nlohmann::json;

const Section* find_section(const Schema& s, const std::string& name) {
  for (auto& sec : s)
    if (sec.name == name) return &sec;
  return nullptr;
}

const Key& key(const Schema& s, const std::string& section, const std::string& name) {
  const Section* sec = find_section(s, section);
  TSFT_CHECK(sec, "config schema: no section [{}]", section);
  for (auto& k : sec->keys)
    if (k.name == name) return k;
  TSFT_FAIL("config schema: no key [{}] {}", section, name);
}

json value(const Schema& s, const json& cfg, const std::string& section, const std::string& name) {
  const Key& k = key(s, section, name);
  if (cfg.contains(section) && cfg[section].contains(name)) return cfg[section][name];
  return k.def;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); j++) row[j] = j;
  for (size_t i = 1; i <= a.size(); i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); j++) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string closest(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = word.size() / 2 + 2;
  for (auto& c : candidates) {
    size_t d = edit_distance(word, c);
    if (d < best_d) best_d = d, best = c;
  }
  return best;
}

std::string suggestion(const std::string& word, const std::vector<std::string>& candidates) {
  std::string c = closest(word, candidates);
  return c.empty() ? "" : " (did you mean " + c + "?)";
}

namespace {

std::string at(const std::string& file, const toml::node& n) {
  return fmt::format("{}:{}", file, n.source().begin.line);
}

const char* type_name(Type t) {
  switch (t) {
    case Type::Int:
      return "an integer";
    case Type::Float:
      return "a number";
    case Type::Bool:
      return "true or false";
    case Type::String:
      return "a string";
    case Type::IntList:
      return "a list of integers";
    case Type::StringList:
      return "a list of strings";
    default:
      return "a value";
  }
}

// One scalar against the key's type, range and choices.
void check_scalar(const toml::node& n, Type t, const Key& k, const std::string& where) {
  const bool ok = t == Type::Int     ? n.is_integer()
                  : t == Type::Float ? n.is_number()
                  : t == Type::Bool  ? n.is_boolean()
                                     : n.is_string();
  TSFT_CHECK(ok, "{}: must be {} ({})", where, type_name(k.type), k.help);
  if (n.is_number()) {
    double v = n.is_integer() ? (double)n.as_integer()->get() : n.as_floating_point()->get();
    TSFT_CHECK(v >= k.lo && v <= k.hi, "{}: {} is out of range [{}, {}] ({})", where, v, k.lo, k.hi, k.help);
  }
  if (n.is_string() && !k.choices.empty()) {
    std::string v = n.as_string()->get();
    TSFT_CHECK(std::count(k.choices.begin(), k.choices.end(), v), "{}: '{}' is not one of {}{}", where, v,
               fmt::join(k.choices, " | "), suggestion(v, k.choices));
  }
}

void check_value(const toml::node& n, const Key& k, const std::string& file, const std::string& label) {
  if (k.type == Type::Any) return;
  const std::string where = at(file, n) + ": " + label;
  if (k.type != Type::IntList && k.type != Type::StringList) return check_scalar(n, k.type, k, where);
  auto arr = n.as_array();
  TSFT_CHECK(arr, "{}: must be {} ({})", where, type_name(k.type), k.help);
  for (auto& e : *arr)
    check_scalar(e, k.type == Type::IntList ? Type::Int : Type::String, k,
                 at(file, e) + ": " + label + " item");
}

std::vector<std::string> names_of(const Section& sec, const Schema& s) {
  std::vector<std::string> out;
  for (auto& k : sec.keys) out.push_back(k.name);
  for (auto& o : s)
    if (o.name.rfind(sec.name + ".", 0) == 0 && o.name.find('.', sec.name.size() + 1) == std::string::npos)
      out.push_back(o.name.substr(sec.name.size() + 1));
  return out;
}

// Every problem of a file, reported together in file order, so one run shows the user all of them
// (toml++ walks a table's keys sorted by name, not by line). One problem keeps its message unchanged.
struct Problems {
  std::vector<std::pair<toml::source_position, std::string>> list;
  // f(n): the node is passed in, not captured (clang 14 cannot capture a structured binding).
  template <class F>
  void check(const toml::node& n, F&& f) {
    try {
      f(n);
    } catch (const Error& e) {
      list.emplace_back(n.source().begin, e.what());
    }
  }
  void raise(const std::string& file) {
    if (list.empty()) return;
    if (list.size() == 1) throw Error(list[0].second);
    std::stable_sort(list.begin(), list.end(), [](auto& a, auto& b) {
      return std::pair(a.first.line, a.first.column) < std::pair(b.first.line, b.first.column);
    });
    std::string all;
    for (auto& [pos, msg] : list) {
      const size_t src = msg.rfind("  [src/");  // the check's own source location: once, at the end
      all += "\n  " + (src == std::string::npos ? msg : msg.substr(0, src));
    }
    TSFT_FAIL("{}: {} problems in the configuration:{}\n", file, list.size(), all);
  }
};

void check_table_in(const toml::table& t, const std::string& file, const std::string& path, const Schema& s,
                    Problems& problems) {
  const Section* sec = find_section(s, path);
  TSFT_CHECK(sec, "{}: unknown section [{}]", file, path);
  if (sec->free_form) return;
  const std::vector<std::string> names = names_of(*sec, s);
  for (auto& [k, node] : t) {
    const std::string name(k.str()), label = fmt::format("[{}] {}", path, name);
    const std::string where = at(file, node) + ": " + label;
    if (const Section* sub = find_section(s, path + "." + name)) {
      problems.check(node, [&](const toml::node& n) {
        TSFT_CHECK(n.is_table(), "{}: must be a table ({})", where, sub->help);
      });
      if (node.is_table()) check_table_in(*node.as_table(), file, sub->name, s, problems);
      continue;
    }
    problems.check(node, [&](const toml::node& n) {
      auto it = std::find_if(sec->keys.begin(), sec->keys.end(), [&](const Key& x) { return x.name == name; });
      TSFT_CHECK(it != sec->keys.end(), "{}: unknown key{}", where, suggestion(name, names));
      check_value(n, *it, file, label);
    });
  }
}

}  // namespace

void check_table(const toml::table& t, const std::string& file, const std::string& path, const Schema& s) {
  Problems problems;
  check_table_in(t, file, path, s, problems);
  problems.raise(file);
}

void check_root(const toml::table& root, const std::string& file, const Schema& s) {
  std::vector<std::string> tops;
  for (auto& sec : s)
    if (sec.name.find('.') == std::string::npos) tops.push_back(sec.name);
  Problems problems;
  for (auto& [k, node] : root) {
    const std::string name(k.str());
    const bool known = find_section(s, name) && name.find('.') == std::string::npos;
    problems.check(node, [&](const toml::node& n) {
      TSFT_CHECK(known, "{}: unknown section [{}]{}", at(file, n), name, suggestion(name, tops));
      TSFT_CHECK(n.is_table(), "{}: {} must be a table [{}]", at(file, n), name, name);
    });
    if (known && node.is_table()) check_table_in(*node.as_table(), file, name, s, problems);
  }
  problems.raise(file);
}

void check_keys(const toml::table& t, const std::string& file, const std::string& where,
                const std::vector<std::string>& allowed) {
  for (auto& [k, node] : t) {
    const std::string name(k.str());
    TSFT_CHECK(std::count(allowed.begin(), allowed.end(), name), "{}: {}: unknown key '{}'{}", at(file, node),
               where, name, suggestion(name, allowed));
  }
}

}  // namespace tsft::schema
