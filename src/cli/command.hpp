// Subcommand registry: each src/cli/cmd_*.cpp registers one subcommand with TSFT_COMMAND.
// Each file keeps its helpers in a namespace named after it (cmd_<name>), not an anonymous one: the unity
// build (CMAKE_UNITY_BUILD) compiles several command files as one translation unit.
// setup(app) adds the options to the subcommand and returns the action to run after parsing.
// Exit codes: 0 ok, 1 failure (tsft::Error or any exception), 2 usage (CLI parse or tsft::UsageError).
#pragma once
#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace tsft::cli {

using Action = std::function<int()>;
using Setup = std::function<Action(CLI::App&)>;

struct CommandDef {
  std::string name;
  std::string help;
  Setup setup;
};

std::vector<CommandDef>& command_registry();

struct CommandRegistrar {
  CommandRegistrar(const char* name, const char* help, Setup setup) {
    command_registry().push_back({name, help, std::move(setup)});
  }
};

}  // namespace tsft::cli

// Variadic so that a lambda with a multi-capture list can be passed inline.
#define TSFT_COMMAND(ident, name, help, ...) \
  static ::tsft::cli::CommandRegistrar tsft_cmd_registrar_##ident(name, help, __VA_ARGS__)
