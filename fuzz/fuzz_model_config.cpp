// Hugging Face config.json (config_load: JSON parse + config_from_json + validation). A config that
// loads must survive a write/read round trip to the same sizes.
#include "model/config.hpp"
#include "util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tsft;
  const std::string path = fuzz::write_scratch("config.json", fuzz::bytes(data, size));
  fuzz::expect_clean(path, [&] {
    ModelConfig c = config_load(path);
    ModelConfig back = config_from_json(config_to_json(c), "round trip");
    if (back.V != c.V || back.C != c.C || back.L != c.L || back.H != c.H || back.KV != c.KV || back.D != c.D)
      fuzz::finding("config.json round trip changed the sizes", path.c_str());
  });
  return 0;
}
