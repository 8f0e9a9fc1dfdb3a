// config.json reproducers found by fuzz/fuzz_model_config.cpp.
#include <gtest/gtest.h>

#include "fuzz_regression.hpp"
#include "model/config.hpp"

namespace tsft {
namespace {

// A number beyond double range (1e309) made nlohmann throw out_of_range, which config_load did not
// catch (it caught only parse_error): the exception escaped as a non-tsft error.
TEST(ConfigFuzz, NumberOverflowIsAJsonError) {
  const std::string path = test::fuzz_regression("model_config", "number-overflow-1e309.json");
  test::expect_clean_error([&] { config_load(path); }, {path, "invalid JSON", "1e309"});
}

}  // namespace
}  // namespace tsft
