// Okapi BM25 over a fixed set of documents (k1 = 1.2, b = 0.75, idf = ln(1 + (N - df + 0.5) / (df + 0.5)),
// the Lucene form, never negative). Tokens: lower-case ASCII letter/digit runs, a plural 's' stripped from
// words longer than 3 letters, English stop words dropped; '^' reads as "power" and '%' as "percent". Used to
// pick the candidate theorems of a problem from the catalog (math_catalog.hpp).
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "annotate/math_catalog.hpp"

namespace tsft::annotate {

std::vector<std::string> bm25_tokens(const std::string& text);

class Bm25 {
 public:
  explicit Bm25(const std::vector<std::string>& docs, double k1 = 1.2, double b = 0.75);
  // Score of every document for the query.
  std::vector<double> scores(const std::string& query) const;
  // The k best documents with a positive score, best first (ties: lower index first).
  std::vector<std::pair<int, double>> top_k(const std::string& query, int k) const;

 private:
  double k1_, b_, avg_len_ = 0;
  std::vector<std::map<std::string, int>> tf_;
  std::vector<int> len_;
  std::map<std::string, int> df_;
};

// The retrieval document of a theorem: name (twice: names are the strongest signal), domain, statement,
// premises, variables, keywords.
std::string theorem_document(const MathTheorem& t);
Bm25 catalog_index(const MathCatalog& cat);

}  // namespace tsft::annotate
