// The default competition-math catalog, loaded once per test binary (the validation and retrieval tests
// share it).
#pragma once
#include "annotate/math_catalog.hpp"

namespace tsft_test {

inline const tsft::annotate::MathCatalog& default_math_catalog() {
  static tsft::annotate::MathCatalog c =
      tsft::annotate::math_catalog_load(tsft::annotate::math_catalog_default_path());
  return c;
}

}  // namespace tsft_test
