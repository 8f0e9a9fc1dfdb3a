#include "annotate/bm25.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

namespace tsft::annotate {

namespace {
const std::set<std::string>& stop_words() {
  static const std::set<std::string> s = {
      "a",    "an",    "the",  "of",    "and",   "or",  "is",   "are",  "be",   "to",   "in",   "on",
      "at",   "by",    "for",  "with",  "it",    "its", "this", "that", "then", "than", "if",   "as",
      "what", "which", "how",  "there", "their", "has", "have", "had",  "was",  "were", "do",   "does",
      "from", "into",  "each", "when",  "we",    "he",  "she",  "they", "his",  "her",  "find", "let"};
  return s;
}
}  // namespace

std::vector<std::string> bm25_tokens(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&] {
    if (cur.size() > 3 && cur.back() == 's' && cur[cur.size() - 2] != 's') cur.pop_back();
    if (!cur.empty() && !stop_words().count(cur)) out.push_back(cur);
    cur.clear();
  };
  for (char c : text) {
    if (c == '^' || c == '%') {  // notation that carries a word: x^2 is a power, 5% a percent
      flush();
      cur = c == '^' ? "power" : "percent";
      flush();
    } else if (std::isalnum((unsigned char)c))
      cur += (char)std::tolower((unsigned char)c);
    else
      flush();
  }
  flush();
  return out;
}

Bm25::Bm25(const std::vector<std::string>& docs, double k1, double b) : k1_(k1), b_(b) {
  for (auto& d : docs) {
    std::map<std::string, int> tf;
    auto toks = bm25_tokens(d);
    for (auto& t : toks) tf[t]++;
    for (auto& [t, n] : tf) df_[t]++;
    len_.push_back((int)toks.size());
    avg_len_ += (double)toks.size();
    tf_.push_back(std::move(tf));
  }
  if (!docs.empty()) avg_len_ /= (double)docs.size();
}

std::vector<double> Bm25::scores(const std::string& query) const {
  std::vector<double> s(tf_.size(), 0.0);
  const double n = (double)tf_.size();
  for (auto& q : bm25_tokens(query)) {
    auto it = df_.find(q);
    if (it == df_.end()) continue;
    double idf = std::log(1.0 + (n - it->second + 0.5) / (it->second + 0.5));
    for (size_t d = 0; d < tf_.size(); d++) {
      auto f = tf_[d].find(q);
      if (f == tf_[d].end()) continue;
      double tf = f->second, norm = k1_ * (1.0 - b_ + b_ * len_[d] / std::max(avg_len_, 1.0));
      s[d] += idf * tf * (k1_ + 1.0) / (tf + norm);
    }
  }
  return s;
}

std::vector<std::pair<int, double>> Bm25::top_k(const std::string& query, int k) const {
  auto s = scores(query);
  std::vector<std::pair<int, double>> out;
  for (size_t d = 0; d < s.size(); d++)
    if (s[d] > 0) out.push_back({(int)d, s[d]});
  std::stable_sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.second > b.second; });
  if ((int)out.size() > k) out.resize(std::max(k, 0));
  return out;
}

std::string theorem_document(const MathTheorem& t) {
  std::string d = t.name + " " + t.name + " " + t.domain + " " + t.statement;
  for (auto& p : t.premises) d += " " + p;
  for (auto& v : t.variables) d += " " + v;
  return d + " " + t.keywords;
}

Bm25 catalog_index(const MathCatalog& cat) {
  std::vector<std::string> docs;
  for (auto& t : cat.theorems) docs.push_back(theorem_document(t));
  return Bm25(docs);
}

}  // namespace tsft::annotate
