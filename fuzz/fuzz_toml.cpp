// TOML configs and the theorem catalog: generator configs (gen_config_from_toml_text) and catalog files
// (catalog_load over a directory holding the input as a domain file next to the real world.toml, or as
// world.toml next to the real algebra.toml). Byte 0 picks which.
#include <filesystem>
#include <string>

#include "core/fs.hpp"
#include "theorems/catalog.hpp"
#include "theorems/generate.hpp"
#include "util.hpp"

namespace {
using namespace tsft;

std::string catalog_dir(bool input_is_world, std::string_view text) {
  namespace fs = std::filesystem;
  static const std::string world = fs_read_text(catalog_default_dir() + "/world.toml");
  static const std::string domain = fs_read_text(catalog_default_dir() + "/algebra.toml");
  const std::string dir = fuzz::scratch_dir() + "/catalog";
  fs::create_directories(dir);
  fuzz::write_scratch("catalog/world.toml", input_is_world ? text : std::string_view(world));
  fuzz::write_scratch("catalog/domain.toml", input_is_world ? std::string_view(domain) : text);
  return dir;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view text = fuzz::bytes(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      fuzz::expect_clean("gen.toml", [&] { gen_config_from_toml_text(std::string(text), "gen.toml"); });
      break;
    default: {
      const bool world = data[0] % 3 == 2;
      const std::string dir = catalog_dir(world, text);
      fuzz::expect_clean(world ? "world.toml" : "domain.toml", [&] { catalog_load(dir); });
    }
  }
  return 0;
}
