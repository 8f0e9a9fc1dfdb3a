// [experiment] device / precision choose the engine of every training and eval stage; an unknown
// word is a usage error before any stage runs.
#include <gtest/gtest.h>

#include <string>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "experiment/experiment.hpp"
#include "test_util.hpp"

using namespace tsft_test;

TEST(ExperimentEngine, UnknownPrecisionIsAUsageErrorBeforeAnyStage) {
  TempDir t;
  std::string cfg = tsft::fs_read_text(std::string(TSFT_SOURCE_DIR) + "/configs/smoke.toml");
  size_t at = cfg.find("[experiment]\n");
  ASSERT_NE(at, std::string::npos);
  cfg.insert(at + 13, "precision = \"fp16\"\n");
  tsft::fs_write_atomic(t / "c.toml", cfg);
  tsft::ExperimentOptions o;
  o.config_path = t / "c.toml";
  o.out_dir = t / "out";
  o.quiet = true;
  try {
    tsft::experiment_run(o);
    ADD_FAILURE() << "expected a UsageError";
  } catch (const tsft::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("fp16"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(t / "out/gen")) << "a stage ran before the config was checked";
}
