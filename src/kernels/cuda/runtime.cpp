// CUDA runtime: errors, devices, context, arena (see runtime.hpp).
#include "kernels/cuda/runtime.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "core/error.hpp"

namespace tsft::cuda {

void cuda_fail_runtime(cudaError_t err, const char* call, const char* file, int line) {
  const char* base = std::strrchr(file, '/');
  throw Error(fmt::format("CUDA error {} ({}) in `{}` at {}:{}", cudaGetErrorName(err),
                          cudaGetErrorString(err), call, base ? base + 1 : file, line));
}

void cuda_fail_cublas(int status, const char* call, const char* file, int line) {
  const char* base = std::strrchr(file, '/');
  throw Error(fmt::format("cuBLAS error {} ({}) in `{}` at {}:{}", cublasGetStatusName((cublasStatus_t)status),
                          cublasGetStatusString((cublasStatus_t)status), call, base ? base + 1 : file, line));
}

static int g_sync_debug = -1;  // -1: read TSFT_CUDA_SYNC on first use

void cuda_set_sync_debug(bool on) { g_sync_debug = on ? 1 : 0; }
bool cuda_sync_debug() {
  if (g_sync_debug < 0) {
    const char* e = std::getenv("TSFT_CUDA_SYNC");
    g_sync_debug = (e && *e && std::strcmp(e, "0") != 0) ? 1 : 0;
  }
  return g_sync_debug == 1;
}

void cuda_launch_check(cudaStream_t stream, const char* kernel, const char* file, int line) {
  cudaError_t e = cudaGetLastError();
  if (e == cudaSuccess && cuda_sync_debug()) e = cudaStreamSynchronize(stream);
  if (e != cudaSuccess) cuda_fail_runtime(e, kernel, file, line);
}

// ---- devices ----
int cuda_device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky-free error so later calls start clean
    return 0;
  }
  return n;
}

std::string cuda_unavailable_reason() {
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    cudaGetLastError();
    return fmt::format("no CUDA device ({}: {})", cudaGetErrorName(e), cudaGetErrorString(e));
  }
  return n == 0 ? "no CUDA device (0 devices)" : "";
}

int cuda_runtime_version() {
  int v = 0;
  cudaRuntimeGetVersion(&v);
  return v;
}
int cuda_driver_version() {
  int v = 0;
  cudaDriverGetVersion(&v);
  return v;
}

std::vector<DeviceInfo> cuda_devices() {
  std::vector<DeviceInfo> out;
  int n = cuda_device_count();
  for (int i = 0; i < n; i++) {
    cudaDeviceProp p{};
    TSFT_CUDA_CHECK(cudaGetDeviceProperties(&p, i));
    DeviceInfo d;
    d.id = i;
    d.name = p.name;
    d.cc_major = p.major;
    d.cc_minor = p.minor;
    d.sm_count = p.multiProcessorCount;
    d.total_bytes = p.totalGlobalMem;
    int prev = 0;
    TSFT_CUDA_CHECK(cudaGetDevice(&prev));
    TSFT_CUDA_CHECK(cudaSetDevice(i));
    size_t fr = 0, tot = 0;
    TSFT_CUDA_CHECK(cudaMemGetInfo(&fr, &tot));
    TSFT_CUDA_CHECK(cudaSetDevice(prev));
    d.free_bytes = fr;
    out.push_back(d);
  }
  return out;
}

std::string cuda_describe_devices() {
  auto fmt_ver = [](int v) { return fmt::format("{}.{}", v / 1000, (v % 1000) / 10); };
  std::string s = fmt::format("CUDA runtime {} (built with {}), driver {}\n", fmt_ver(cuda_runtime_version()),
                              fmt_ver(CUDART_VERSION), fmt_ver(cuda_driver_version()));
  auto devs = cuda_devices();
  if (devs.empty()) return s + cuda_unavailable_reason() + "\n";
  for (auto& d : devs)
    s += fmt::format("cuda:{}  {}  sm_{}{}  {} SMs  {} total, {} free\n", d.id, d.name, d.cc_major, d.cc_minor,
                     d.sm_count, cuda_human_bytes((double)d.total_bytes), cuda_human_bytes((double)d.free_bytes));
  return s;
}

std::string cuda_human_bytes(double bytes) {
  const char* u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int i = 0;
  while (bytes >= 1024 && i < 4) bytes /= 1024, i++;
  return fmt::format("{:.2f} {}", bytes, u[i]);
}

// ---- context ----
Context::Context(int device, size_t workspace_bytes) : device_(device), workspace_bytes_(workspace_bytes) {
  int n = cuda_device_count();
  TSFT_CHECK(n > 0, "CUDA backend requested but {}", cuda_unavailable_reason());
  TSFT_CHECK(device >= 0 && device < n, "CUDA device {} requested but only {} device(s) present", device, n);
  TSFT_CUDA_CHECK(cudaSetDevice(device));
  TSFT_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  TSFT_CUBLAS_CHECK(cublasCreate(&blas_));
  TSFT_CUBLAS_CHECK(cublasLtCreate(&lt_));
  TSFT_CUBLAS_CHECK(cublasSetStream(blas_, stream_));
  // Plain fp32 math: no TF32 (fp32 mode is the exact-parity target).
  TSFT_CUBLAS_CHECK(cublasSetMathMode(blas_, CUBLAS_DEFAULT_MATH));
  if (workspace_bytes_ > 0) {
    TSFT_CUDA_CHECK(cudaMalloc(&workspace_, workspace_bytes_));
    TSFT_CUBLAS_CHECK(cublasSetWorkspace(blas_, workspace_, workspace_bytes_));
  }
  const char* g = std::getenv("TSFT_CUDA_GEMM");
  if (g && std::strcmp(g, "cublas") == 0) backend_ = GemmBackend::cublas;
}

Context::~Context() {
  // Destructors must not throw: errors here are ignored (the device may already be in a failed state).
  if (stream_) cudaStreamSynchronize(stream_);
  if (workspace_) cudaFree(workspace_);
  if (lt_) cublasLtDestroy(lt_);
  if (blas_) cublasDestroy(blas_);
  if (stream_) cudaStreamDestroy(stream_);
}

void Context::synchronize() const { TSFT_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

// ---- arena ----
static size_t align_up(size_t n) { return (n + kArenaAlign - 1) / kArenaAlign * kArenaAlign; }

void ArenaPlan::add(const std::string& name, size_t bytes) {
  items_.emplace_back(name, bytes);
  total_ += align_up(bytes);
}

std::string ArenaPlan::describe(size_t top) const {
  std::vector<std::pair<std::string, size_t>> s = items_;
  std::stable_sort(s.begin(), s.end(), [](auto& a, auto& b) { return a.second > b.second; });
  std::string out = fmt::format("{} in {} buffers; largest:", cuda_human_bytes((double)total_), items_.size());
  for (size_t i = 0; i < s.size() && i < top; i++)
    out += fmt::format("{} {} {}", i ? "," : "", s[i].first, cuda_human_bytes((double)s[i].second));
  return out;
}

DeviceArena::DeviceArena(const ArenaPlan& plan, int device) : capacity_(plan.total()) {
  plan_summary_ = plan.describe();
  TSFT_CUDA_CHECK(cudaSetDevice(device));
  if (capacity_ == 0) return;
  size_t fr = 0, tot = 0;
  TSFT_CUDA_CHECK(cudaMemGetInfo(&fr, &tot));
  cudaError_t e = capacity_ <= fr ? cudaMalloc((void**)&base_, capacity_) : cudaErrorMemoryAllocation;
  if (e != cudaSuccess) {
    cudaGetLastError();
    base_ = nullptr;
    TSFT_FAIL(
        "device memory plan does not fit on cuda:{}: the run needs {} but the device has {} free of {} ({}). "
        "Reduce the batch or sequence length, enable activation recomputation, or train fewer parameters.",
        device, cuda_human_bytes((double)capacity_), cuda_human_bytes((double)fr), cuda_human_bytes((double)tot),
        plan_summary_);
  }
}

DeviceArena::~DeviceArena() {
  if (base_) cudaFree(base_);
}

void* DeviceArena::alloc_bytes(const std::string& name, size_t bytes) {
  size_t need = align_up(bytes);
  TSFT_CHECK(used_ + need <= capacity_,
             "device arena: buffer '{}' ({}) does not fit in the planned {} ({} already used); the memory "
             "plan is missing this buffer (plan: {})",
             name, cuda_human_bytes((double)bytes), cuda_human_bytes((double)capacity_),
             cuda_human_bytes((double)used_), plan_summary_);
  void* p = base_ + used_;
  used_ += need;
  return p;
}

}  // namespace tsft::cuda
