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

// "intermediate_size": 1e176 was converted by get<int>() (UBSan: outside the range of int); integers
// beyond int32 wrapped silently. Integral floats (2048.0) stay accepted.
TEST(ConfigFuzz, IntFieldsAreRangeChecked) {
  const std::string path = test::fuzz_regression("model_config", "int-from-1e176.json");
  test::expect_clean_error([&] { config_load(path); }, {path, "intermediate_size", "out of range"});
  nlohmann::json j =
      nlohmann::json::parse(test::fuzz_regression_bytes("model_config", "int-from-1e176.json"));
  j["intermediate_size"] = 4294967424ll;  // 2^32 + 128 wrapped to 128
  test::expect_clean_error([&] { config_from_json(j, "wrap"); },
                           {"wrap", "intermediate_size", "out of range"});
  j["intermediate_size"] = 1.5;
  test::expect_clean_error([&] { config_from_json(j, "half"); }, {"half", "must be an integer"});
  j["intermediate_size"] = 128.0;
  EXPECT_EQ(config_from_json(j, "ok").F, 128);
  j["eos_token_id"] = {4, 1e30};
  test::expect_clean_error([&] { config_from_json(j, "eos"); }, {"eos", "eos_token_id", "out of range"});
}

}  // namespace
}  // namespace tsft
