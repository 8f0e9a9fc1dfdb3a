#include "train/select.hpp"

#include <regex>

#include "core/error.hpp"

namespace tsft {

namespace {
std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

TensorPredicate preset(const std::string& name, bool tied, const std::string& spec) {
  if (name == "all") return [](const TensorEntry&) { return true; };
  if (name == "mlp") return [](const TensorEntry& e) { return e.group == Group::mlp; };
  if (name == "attn") return [](const TensorEntry& e) { return e.group == Group::attn; };
  if (name == "norm") return [](const TensorEntry& e) { return e.group == Group::norm; };
  if (name == "embed") return [](const TensorEntry& e) { return e.group == Group::embed; };
  if (name == "head") {
    if (tied) return [](const TensorEntry& e) { return e.group == Group::embed; };
    return [](const TensorEntry& e) { return e.group == Group::head; };
  }
  throw UsageError(
      fmt::format("--trainable '{}': unknown group '{}' (all, mlp, attn, embed, norm, head, "
                  "layers[a:b][.group], re:<regex>)",
                  spec, name));
}

int parse_bound(const std::string& s, int L, int def, const std::string& spec) {
  if (trim(s).empty()) return def;
  try {
    size_t used = 0;
    int v = std::stoi(s, &used);
    if (used != trim(s).size() && used != s.size()) throw std::invalid_argument(s);
    if (v < 0) v += L;
    return std::max(0, std::min(L, v));
  } catch (const std::exception&) {
    throw UsageError(fmt::format("--trainable '{}': bad layer index '{}'", spec, s));
  }
}
}  // namespace

TensorPredicate select_parse(const std::string& spec, int L, bool tied) {
  std::vector<TensorPredicate> terms;
  size_t start = 0;
  // '+' separates terms, except inside a regex (re: runs to the end of the spec).
  while (start <= spec.size()) {
    std::string rest = spec.substr(start);
    std::string term;
    if (trim(rest).rfind("re:", 0) == 0) {
      term = trim(rest);
      start = spec.size() + 1;
    } else {
      size_t plus = spec.find('+', start);
      term = trim(spec.substr(start, plus == std::string::npos ? std::string::npos : plus - start));
      start = plus == std::string::npos ? spec.size() + 1 : plus + 1;
    }
    if (term.empty()) throw UsageError(fmt::format("--trainable '{}': empty term", spec));
    if (term.rfind("re:", 0) == 0) {
      std::string pat = term.substr(3);
      try {
        auto re = std::make_shared<std::regex>(pat, std::regex::ECMAScript);
        terms.push_back([re](const TensorEntry& e) { return std::regex_search(e.name, *re); });
      } catch (const std::regex_error& err) {
        throw UsageError(fmt::format("--trainable '{}': invalid regex '{}': {}", spec, pat, err.what()));
      }
    } else if (term.rfind("layers[", 0) == 0) {
      size_t close = term.find(']');
      if (close == std::string::npos)
        throw UsageError(fmt::format("--trainable '{}': missing ']' in '{}'", spec, term));
      std::string range = term.substr(7, close - 7);
      int a, b;
      size_t colon = range.find(':');
      if (colon == std::string::npos) {
        a = parse_bound(range, L, 0, spec);
        b = a + 1;
      } else {
        a = parse_bound(range.substr(0, colon), L, 0, spec);
        b = parse_bound(range.substr(colon + 1), L, L, spec);
      }
      TensorPredicate group = [](const TensorEntry&) { return true; };
      std::string tail = term.substr(close + 1);
      if (!tail.empty()) {
        if (tail[0] != '.')
          throw UsageError(fmt::format("--trainable '{}': expected '.group' after ']'", spec));
        group = preset(tail.substr(1), tied, spec);
      }
      terms.push_back(
          [a, b, group](const TensorEntry& e) { return e.layer >= a && e.layer < b && group(e); });
    } else {
      terms.push_back(preset(term, tied, spec));
    }
  }
  return [terms](const TensorEntry& e) {
    for (auto& t : terms)
      if (t(e)) return true;
    return false;
  };
}

std::map<std::string, std::pair<size_t, size_t>> select_counts(const TensorTable& table) {
  std::map<std::string, std::pair<size_t, size_t>> m;
  for (auto& e : table.entries) {
    auto& c = m[group_name(e.group)];
    c.second += e.numel;
    if (e.trainable) c.first += e.numel;
  }
  return m;
}

}  // namespace tsft
