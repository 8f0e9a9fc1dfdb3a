// CUDA runtime for the GPU backend: error checks that name the failing call and its file:line, device
// query, a per-device context (stream, cuBLAS/cuBLASLt handles, GEMM workspace) and a device arena that
// is sized once from a plan before step 0.
#pragma once
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace tsft::cuda {

[[noreturn]] void cuda_fail_runtime(cudaError_t err, const char* call, const char* file, int line);
[[noreturn]] void cuda_fail_cublas(int status, const char* call, const char* file, int line);

// After a kernel launch: reports launch errors, and in sync-debug mode (TSFT_CUDA_SYNC=1 in the
// environment, or cuda_set_sync_debug(true)) also synchronises the stream so that an asynchronous
// fault (illegal address, ...) is reported against the kernel that caused it.
void cuda_launch_check(cudaStream_t stream, const char* kernel, const char* file, int line);
void cuda_set_sync_debug(bool on);
bool cuda_sync_debug();

}  // namespace tsft::cuda

#define TSFT_CUDA_CHECK(call)                                                         \
  do {                                                                                \
    cudaError_t tsft_e_ = (call);                                                     \
    if (tsft_e_ != cudaSuccess) ::tsft::cuda::cuda_fail_runtime(tsft_e_, #call, __FILE__, __LINE__); \
  } while (0)
#define TSFT_CUBLAS_CHECK(call)                                                       \
  do {                                                                                \
    int tsft_s_ = (int)(call);                                                        \
    if (tsft_s_ != 0) ::tsft::cuda::cuda_fail_cublas(tsft_s_, #call, __FILE__, __LINE__); \
  } while (0)
#define TSFT_CUDA_LAUNCHED(stream, kernel) ::tsft::cuda::cuda_launch_check(stream, kernel, __FILE__, __LINE__)

namespace tsft::cuda {

// ---- devices --------------------------------------------------------------------------------------
struct DeviceInfo {
  int id = 0;
  std::string name;
  int cc_major = 0, cc_minor = 0;
  int sm_count = 0;
  size_t total_bytes = 0, free_bytes = 0;
};
// Number of usable devices; 0 (never an exception) when there is no device or no driver.
int cuda_device_count();
// Why cuda_device_count() is 0 ("no CUDA device", "CUDA driver is older than the runtime", ...).
std::string cuda_unavailable_reason();
std::vector<DeviceInfo> cuda_devices();
// One line per device, or the reason there is none (for `tsft info --devices` and the test logs).
std::string cuda_describe_devices();
int cuda_runtime_version();
int cuda_driver_version();

// ---- context ----------------------------------------------------------------------------------------
// GEMMs go through cuBLASLt (default) or the classic cublasGemmEx path (TSFT_CUDA_GEMM=cublas in the
// environment, or set_gemm_backend); both use fp32 accumulation and never TF32.
enum class GemmBackend { lt, cublas };

class Context {
 public:
  explicit Context(int device = 0, size_t workspace_bytes = size_t(32) << 20);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  int device() const { return device_; }
  cudaStream_t stream() const { return stream_; }
  cublasHandle_t blas() const { return blas_; }
  cublasLtHandle_t lt() const { return lt_; }
  void* workspace() const { return workspace_; }
  size_t workspace_bytes() const { return workspace_bytes_; }
  GemmBackend gemm_backend() const { return backend_; }
  void set_gemm_backend(GemmBackend b) { backend_ = b; }
  void synchronize() const;

  // cuBLASLt algorithm chosen by the heuristic, cached per problem (shape, types, transposes,
  // alignments): the heuristic query costs tens of microseconds.
  using AlgoKey = std::tuple<int, int, int, int, int, int, int, int, int, int, int, int>;
  std::map<AlgoKey, cublasLtMatmulAlgo_t> algo_cache;

 private:
  int device_ = 0;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t blas_ = nullptr;
  cublasLtHandle_t lt_ = nullptr;
  void* workspace_ = nullptr;
  size_t workspace_bytes_ = 0;
  GemmBackend backend_ = GemmBackend::lt;
};

// ---- memory plan and device arena -------------------------------------------------------------------
// The plan lists every buffer of a run by name before anything is allocated; the arena then makes one
// cudaMalloc of plan.total() and hands out the buffers in order. If the device cannot hold the plan the
// error states the estimate, its largest items and the free memory, before step 0.
constexpr size_t kArenaAlign = 256;

class ArenaPlan {
 public:
  void add(const std::string& name, size_t bytes);
  template <typename T>
  void add_n(const std::string& name, size_t n) {
    add(name, n * sizeof(T));
  }
  size_t total() const { return total_; }
  const std::vector<std::pair<std::string, size_t>>& items() const { return items_; }
  std::string describe(size_t top = 6) const;  // "3.2 GiB in 41 buffers; largest: a 1.0 GiB, ..."

 private:
  std::vector<std::pair<std::string, size_t>> items_;
  size_t total_ = 0;
};

class DeviceArena {
 public:
  DeviceArena(const ArenaPlan& plan, int device);
  ~DeviceArena();
  DeviceArena(const DeviceArena&) = delete;
  DeviceArena& operator=(const DeviceArena&) = delete;

  void* alloc_bytes(const std::string& name, size_t bytes);
  template <typename T>
  T* alloc(const std::string& name, size_t n) {
    return static_cast<T*>(alloc_bytes(name, n * sizeof(T)));
  }
  size_t capacity() const { return capacity_; }
  size_t used() const { return used_; }

 private:
  char* base_ = nullptr;
  size_t capacity_ = 0, used_ = 0;
  std::string plan_summary_;
};

std::string cuda_human_bytes(double bytes);

}  // namespace tsft::cuda
