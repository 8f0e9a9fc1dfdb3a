// The AVX-512 code paths of the CPU kernels (attention_fused.cpp, attention_cached.cpp): one target
// attribute for their functions (the build need not be -march=native) and one run-time CPU check.
#pragma once

#define TSFT_AVX512 __attribute__((target("avx512f,avx512vl,avx512dq,fma")))

namespace tsft {

// AVX-512 F/VL/DQ and FMA on the running CPU (checked once).
inline bool cpu_has_avx512() {
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                          __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("fma");
  return has;
}

}  // namespace tsft
