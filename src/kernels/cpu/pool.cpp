// The engine's thread pool (see blas.hpp pool_run). One job at a time, posted by the thread that
// calls pool_run. Job state is one atomic word (generation << 32 | next chunk): a worker claims chunk k
// of generation g by CAS, so a worker that wakes late can never claim a chunk of a finished job, and
// the caller waits only for claimed chunks to complete, never for threads that are not running.
#include <immintrin.h>
#include <omp.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "kernels/cpu/blas.hpp"

namespace tsft {

namespace {

thread_local bool t_in_task = false;

struct Pool {
  static constexpr uint64_t kLow = 0xffffffffu;
  std::atomic<uint64_t> state{0};  // generation << 32 | next chunk to claim
  std::atomic<int> total{0};       // chunks of the current generation
  std::atomic<int> done{0};        // chunks finished in the current generation
  std::atomic<int> active{1};      // threads allowed to take part (caller included)
  std::atomic<void (*)(void*, int, int)> task{nullptr};
  std::atomic<void*> ctx{nullptr};
  std::vector<std::thread> workers;
  std::mutex post_mu;  // one job at a time (pool_run from two user threads serialises)

  ~Pool() {
    stop.store(true);
    state.fetch_add(uint64_t(1) << 32);
    state.notify_all();
    for (auto& w : workers) w.join();
  }
  std::atomic<bool> stop{false};

  // Claims and runs chunks of the generation in `s` until none is left; returns the last state seen.
  uint64_t work(uint64_t s, int slot) {
    for (;;) {
      uint32_t k = (uint32_t)(s & kLow);
      void (*fn)(void*, int, int) = task.load(std::memory_order_acquire);
      void* c = ctx.load(std::memory_order_acquire);
      uint32_t n = (uint32_t)total.load(std::memory_order_acquire);
      if (k >= n) return s;
      // A successful CAS on (g, k < n) means generation g is open and unfinished, so fn/c/n loaded
      // after observing g are still g's (the next job is set up only after all of g's chunks ran, and
      // setting up first closes the state word, failing every CAS on an older value).
      if (state.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel, std::memory_order_acquire)) {
        t_in_task = true;
        fn(c, (int)k, slot);
        t_in_task = false;
        done.fetch_add(1, std::memory_order_release);
        s = state.load(std::memory_order_acquire);
      }
    }
  }

  void worker_main(int slot) {
    for (;;) {
      uint64_t s = state.load(std::memory_order_acquire);
      if (stop.load(std::memory_order_relaxed)) return;
      if (slot < active.load(std::memory_order_acquire)) s = work(s, slot);
      // Nothing to claim: spin briefly (jobs come in bursts), then sleep until the state word changes.
      bool changed = false;
      for (int i = 0; i < 4000 && !changed; i++) {
        _mm_pause();
        changed = state.load(std::memory_order_relaxed) != s;
      }
      if (!changed) state.wait(s, std::memory_order_acquire);
    }
  }

  void ensure_workers(int nt) {
    while ((int)workers.size() < nt - 1) {
      int slot = (int)workers.size() + 1;
      workers.emplace_back([this, slot] { worker_main(slot); });
    }
  }

  void run(int n_chunks, void (*fn)(void*, int, int), void* c) {
    std::lock_guard<std::mutex> lk(post_mu);
    int nt = omp_get_max_threads();
    ensure_workers(nt);
    uint64_t gen = (state.load(std::memory_order_acquire) >> 32) + 1;
    state.store((gen << 32) | kLow, std::memory_order_release);  // closed while the job is set up
    active.store(nt, std::memory_order_release);
    task.store(fn, std::memory_order_release);
    ctx.store(c, std::memory_order_release);
    total.store(n_chunks, std::memory_order_release);
    done.store(0, std::memory_order_release);
    uint64_t s = gen << 32;
    state.store(s, std::memory_order_release);
    state.notify_all();
    work(s, 0);
    for (int spins = 0; done.load(std::memory_order_acquire) < n_chunks; spins++) {
      if (spins < 20000) _mm_pause();
      else std::this_thread::yield();
    }
  }
};

Pool& pool() {
  static Pool p;
  return p;
}

}  // namespace

bool pool_in_task() { return t_in_task; }

void pool_run(int n_chunks, void (*task)(void*, int, int), void* ctx) {
  if (n_chunks <= 0) return;
  if (t_in_task || n_chunks == 1 || omp_get_max_threads() <= 1) {
    bool was = t_in_task;
    t_in_task = true;
    for (int c = 0; c < n_chunks; c++) task(ctx, c, 0);
    t_in_task = was;
    return;
  }
  pool().run(n_chunks, task, ctx);
}

}  // namespace tsft
