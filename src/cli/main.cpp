// tsft: the command-line front end. Library code throws; this is the only place that maps failures
// to exit codes (0 ok, 1 failure, 2 usage).
#include <algorithm>
#include <cstdio>
#include <map>

#include "cli/command.hpp"
#include "core/build_info.hpp"
#include "core/error.hpp"

namespace tsft::cli {
std::vector<CommandDef>& command_registry() {
  static std::vector<CommandDef> registry;
  return registry;
}
}  // namespace tsft::cli

int main(int argc, char** argv) {
  using namespace tsft::cli;
  CLI::App app{"tsft — theorem-grounded SFT of decoder LMs, and probes of what fine-tuning taught"};
  app.set_version_flag("--version", std::string("tsft ") + TSFT_VERSION + " (" + tsft::build_git() + ")");
  app.require_subcommand(1);
  auto& reg = command_registry();
  std::sort(reg.begin(), reg.end(), [](auto& a, auto& b) { return a.name < b.name; });
  std::map<CLI::App*, Action> actions;
  try {
    for (auto& def : reg) {
      CLI::App* sub = app.add_subcommand(def.name, def.help);
      actions[sub] = def.setup(*sub);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tsft: internal error while registering commands: %s\n", e.what());
    return 1;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  for (auto& [sub, action] : actions) {
    if (!sub->parsed()) continue;
    try {
      return action();
    } catch (const tsft::UsageError& e) {
      std::fprintf(stderr, "tsft %s: usage error: %s\nRun 'tsft %s --help' for the options.\n",
                   sub->get_name().c_str(), e.what(), sub->get_name().c_str());
      return 2;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "tsft %s: error: %s\n", sub->get_name().c_str(), e.what());
      return 1;
    }
  }
  return 2;
}
