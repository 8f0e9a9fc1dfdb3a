// tsft experiment CONFIG.toml --out DIR (the main job) and tsft report DIR.
#include <fmt/format.h>

#include "cli/command.hpp"
#include "experiment/experiment.hpp"
#include "report/report.hpp"

TSFT_COMMAND(experiment, "experiment", "Run the whole experiment (cached stages): catalog -> report",
             [](CLI::App& app) {
               auto o = std::make_shared<tsft::ExperimentOptions>();
               app.add_option("config", o->config_path, "experiment TOML (e.g. configs/smoke.toml)")->required();
               app.add_option("--out", o->out_dir, "experiment directory")->required();
               app.add_flag("-q,--quiet", o->quiet, "no stage log");
               return [o] {
                 std::string r = tsft::experiment_run(*o);
                 fmt::print("report: {} (and report.html)\n", r);
                 return 0;
               };
             });

TSFT_COMMAND(report, "report", "Write report.md and report.html for an experiment directory", [](CLI::App& app) {
  auto dir = std::make_shared<std::string>();
  app.add_option("dir", *dir, "experiment directory")->required();
  return [dir] {
    fmt::print("{}\n", tsft::report_write(*dir));
    return 0;
  };
});
