// RoPE frequencies of a model configuration (the kernels take the tables; the configuration is the model's).
#pragma once
#include "model/config.hpp"

namespace tsft {

// inv_freq[D/2] for the configured RoPE (standard or llama3 scaling), computed in double.
void rope_inv_freq(double* inv_freq, int D, const RopeConfig& rope);

}  // namespace tsft
