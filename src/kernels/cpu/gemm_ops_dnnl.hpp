// oneDNN implementations of GemmOps (internal: use make_gemm_ops). See gemm_ops_dnnl.cpp for the
// per-shape rule that sends some fp32 shapes to the reference kernels.
#pragma once
#include <memory>
#include <string>

#include "kernels/cpu/gemm_ops.hpp"

namespace tsft {

struct DnnlOptions {
  bool bf16 = false;
  bool shape_rule = true;  // false: every shape goes to oneDNN (for the benchmark that sets the rules)
  // false (default): chunks on the engine's pool, one single-threaded oneDNN call each (no OpenMP
  // team is ever started). true: one call on oneDNN's own OpenMP team (for the benchmarks).
  bool omp_team = false;
};
std::unique_ptr<GemmOps> make_dnnl_gemm_ops(const DnnlOptions& options);

// Which fp32 forward shapes the dnnl_fp32 ops sends to the reference (OpenBLAS / dot products).
bool dnnl_fp32_prefers_reference_forward(int N, int I, int O);

// The linked oneDNN's version, "major.minor.patch" (its JIT kernels, hence the numerics, depend on it).
std::string onednn_version();

}  // namespace tsft
