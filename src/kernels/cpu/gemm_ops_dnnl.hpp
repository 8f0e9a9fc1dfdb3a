// oneDNN implementations of GemmOps (internal: use make_gemm_ops). See gemm_ops_dnnl.cpp for the
// per-shape rule that sends some fp32 shapes to the reference kernels.
#pragma once
#include <memory>

#include "kernels/cpu/gemm_ops.hpp"

namespace tsft {

std::unique_ptr<GemmOps> make_dnnl_gemm_ops(bool bf16);

// Which fp32 forward shapes the dnnl_fp32 ops sends to the reference (OpenBLAS / dot products).
bool dnnl_fp32_prefers_reference_forward(int N, int I, int O);

}  // namespace tsft
