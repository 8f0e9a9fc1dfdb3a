// safetensors files: u64 header length + JSON header + data (SafetensorsFile::open validates the
// header like the reference implementation). Every tensor of a file that opens is read back in full.
#include <vector>

#include "core/safetensors.hpp"
#include "util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tsft;
  const std::string path = fuzz::write_scratch("model.safetensors", fuzz::bytes(data, size));
  fuzz::expect_clean(path, [&] {
    auto f = SafetensorsFile::open(path);
    std::vector<double> buf;
    for (const TensorInfo& t : f->tensors()) {
      if (f->get(t.name).begin != t.begin) fuzz::finding("get() disagrees with tensors()", t.name.c_str());
      buf.resize((size_t)t.numel());
      if (dtype_is_float(t.dtype)) f->read_f64(t, buf.data());
    }
  });
  return 0;
}
