#include "model/rope.hpp"

#include <cmath>

namespace tsft {

// Mirrors transformers' float32 computation (the buffer HF builds is float32, later cast to the
// model dtype), so our frequencies are HF's to the last bit; llama3 scaling is applied on top.
// fp-contract off: a fused multiply-add would round differently from the reference by an ulp.
__attribute__((optimize("fp-contract=off"))) void rope_inv_freq(double* inv_freq, int D,
                                                                const RopeConfig& rope) {
  const double pi = 3.14159265358979323846;
  for (int i = 0; i < D / 2; i++) {
    float e = (float)(2 * i) / (float)D;
    float f32 = 1.0f / std::pow((float)rope.theta, e);
    double f = f32;
    if (rope.type == RopeType::llama3) {
      // transformers _compute_llama3_parameters: low frequencies are divided by `factor`, high ones
      // kept, the band between is interpolated (evaluated in float32 like the reference).
      float low_wavelen = (float)(rope.original_max_position / rope.low_freq_factor);
      float high_wavelen = (float)(rope.original_max_position / rope.high_freq_factor);
      float wavelen = (1.0f / f32) * (float)(2 * pi);  // torch: scalar / t == t.reciprocal() * scalar
      float scaled = wavelen > low_wavelen ? f32 / (float)rope.factor : f32;
      bool medium = !(wavelen < high_wavelen) && !(wavelen > low_wavelen);
      if (medium) {
        float smooth = ((1.0f / wavelen) * (float)rope.original_max_position - (float)rope.low_freq_factor) /
                       (float)(rope.high_freq_factor - rope.low_freq_factor);
        scaled = (1 - smooth) * scaled / (float)rope.factor + smooth * scaled;
      }
      f = scaled;
    }
    inv_freq[i] = f;
  }
}

}  // namespace tsft
