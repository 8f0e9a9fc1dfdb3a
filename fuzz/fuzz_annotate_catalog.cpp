// The competition-math catalog of `tsft annotate` (math_catalog_load of a TOML file), then what is built
// from a loaded catalog: the BM25 index, one retrieval query and the prompt's candidate list. Every
// loaded theorem must be found again by its name and by its id (and no other).
#include <string>
#include <vector>

#include "annotate/bm25.hpp"
#include "annotate/math_catalog.hpp"
#include "annotate/prompt.hpp"
#include "util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tsft;
  const std::string path = fuzz::write_scratch("catalog.toml", fuzz::bytes(data, size));
  fuzz::expect_clean(path, [&] {
    annotate::MathCatalog cat = annotate::math_catalog_load(path);
    for (size_t i = 0; i < cat.theorems.size(); i++)
      if (cat.find(cat.theorems[i].name) != (int)i || cat.find(cat.theorems[i].id) != (int)i)
        fuzz::finding("a loaded theorem is not found by its name and id", cat.theorems[i].name.c_str());
    annotate::Bm25 index = annotate::catalog_index(cat);
    std::vector<int> which;
    for (auto& [doc, score] : index.top_k("A baker fills 6 trays with 14 rolls each. How many rolls?", 4))
      which.push_back(doc);
    annotate::prompt_theorem_list(cat, which);
  });
  return 0;
}
