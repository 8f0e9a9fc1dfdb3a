#include "tokenizer/bpe.hpp"

#include <atomic>
#include <memory>
#include <queue>

#include "core/error.hpp"

namespace tsft::tokenizer {

void MergeTable::reserve(size_t n) {
  size_t cap = 16;
  while (cap < n * 2) cap <<= 1;
  slots_.assign(cap, Slot{});
  mask_ = cap - 1;
  size_ = 0;
}

void MergeTable::insert(int32_t a, int32_t b, int32_t rank, int32_t merged) {
  if ((size_ + 1) * 2 > slots_.size()) {
    std::vector<Slot> old = std::move(slots_);
    reserve(std::max<size_t>(16, (size_ + 1) * 2));
    for (const Slot& s : old)
      if (s.key != kEmpty)
        insert(static_cast<int32_t>(s.key >> 32), static_cast<int32_t>(s.key), s.rank, s.merged);
  }
  uint64_t key = pack(a, b);
  for (size_t i = hash(key) & mask_;; i = (i + 1) & mask_) {
    Slot& s = slots_[i];
    if (s.key == key) {  // a repeated merge takes its last rank, as HF's HashMap collect does
      s.rank = rank;
      s.merged = merged;
      return;
    }
    if (s.key == kEmpty) {
      s = Slot{key, rank, merged};
      ++size_;
      return;
    }
  }
}

namespace {
std::atomic<uint64_t> g_next_instance{1};

// Per-thread memo of word -> ids, one per model instance (keyed by a never-reused instance number).
struct WordCache {
  std::unordered_map<std::string, std::pair<uint32_t, uint32_t>, StringHash, std::equal_to<>> map;
  std::vector<int32_t> arena;
};
constexpr size_t kCacheMaxWordBytes = 128;
constexpr size_t kCacheMaxEntries = 1 << 19;

WordCache& thread_cache(uint64_t instance) {
  thread_local std::unordered_map<uint64_t, std::unique_ptr<WordCache>> caches;
  thread_local uint64_t last_key = 0;
  thread_local WordCache* last = nullptr;
  if (instance == last_key && last) return *last;
  auto& slot = caches[instance];
  if (!slot) slot = std::make_unique<WordCache>();
  last_key = instance;
  last = slot.get();
  return *last;
}
}  // namespace

BpeModel::BpeModel(BytesToId vocab, const std::vector<std::pair<std::string, std::string>>& merges,
                   bool ignore_merges)
    : vocab_(std::move(vocab)), ignore_merges_(ignore_merges), instance_(g_next_instance++) {
  for (int b = 0; b < 256; ++b) {
    auto it = vocab_.find(std::string_view(reinterpret_cast<const char*>(&b), 1));
    byte_id_[b] = it == vocab_.end() ? -1 : it->second;
  }
  merges_.reserve(merges.size());
  std::string cat;
  for (size_t r = 0; r < merges.size(); ++r) {
    const auto& [a, b] = merges[r];
    auto ia = vocab_.find(a), ib = vocab_.find(b);
    TSFT_CHECK(ia != vocab_.end() && ib != vocab_.end(), "BPE merge #{}: token missing from vocab", r);
    cat = a + b;
    auto ic = vocab_.find(cat);
    TSFT_CHECK(ic != vocab_.end(), "BPE merge #{}: merged token missing from vocab", r);
    merges_.insert(ia->second, ib->second, static_cast<int32_t>(r), ic->second);
  }
}

void BpeModel::merge_scan(std::vector<int32_t>& sym) const {
  // Repeatedly merge the lowest-ranked adjacent pair (leftmost on ties): O(n^2), for short words.
  while (sym.size() > 1) {
    int32_t best_rank = INT32_MAX, best_new = -1;
    size_t best_pos = 0;
    for (size_t i = 0; i + 1 < sym.size(); ++i) {
      int32_t rank, merged;
      if (merges_.find(sym[i], sym[i + 1], rank, merged) && rank < best_rank) {
        best_rank = rank;
        best_new = merged;
        best_pos = i;
      }
    }
    if (best_new < 0) break;
    sym[best_pos] = best_new;
    sym.erase(sym.begin() + static_cast<std::ptrdiff_t>(best_pos) + 1);
  }
}

void BpeModel::merge_heap(std::vector<int32_t>& sym) const {
  // Doubly linked symbols indexed by their first byte position; heap of candidate merges ordered by
  // (rank, left position). Entries go stale when a neighbour merges; they are checked on pop.
  const int n = static_cast<int>(sym.size());
  std::vector<int> prev(n), next(n);
  std::vector<char> alive(n, 1);
  for (int i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  struct Cand {
    int32_t rank, pos, merged;
    bool operator>(const Cand& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Cand, std::vector<Cand>, std::greater<Cand>> heap;
  auto push = [&](int i) {
    if (i < 0 || next[i] < 0) return;
    int32_t rank, merged;
    if (merges_.find(sym[i], sym[next[i]], rank, merged)) heap.push({rank, i, merged});
  };
  for (int i = 0; i + 1 < n; ++i) push(i);
  while (!heap.empty()) {
    Cand c = heap.top();
    heap.pop();
    int i = c.pos;
    if (!alive[i] || next[i] < 0) continue;
    int j = next[i];
    int32_t rank, merged;
    if (!merges_.find(sym[i], sym[j], rank, merged) || merged != c.merged || rank != c.rank) continue;
    sym[i] = merged;
    alive[j] = 0;
    next[i] = next[j];
    if (next[j] >= 0) prev[next[j]] = i;
    push(prev[i]);
    push(i);
  }
  size_t w = 0;
  for (int i = 0; i >= 0 && i < n; i = next[i]) sym[w++] = sym[i];
  sym.resize(w);
}

void BpeModel::encode_word_uncached(std::string_view word, std::vector<int32_t>& out) const {
  if (ignore_merges_) {
    auto it = vocab_.find(word);
    if (it != vocab_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  thread_local std::vector<int32_t> sym;
  sym.clear();
  for (unsigned char c : word)
    if (byte_id_[c] >= 0) sym.push_back(byte_id_[c]);  // a byte missing from the vocab is dropped (no unk)
  if (sym.size() <= kScanMax)
    merge_scan(sym);
  else
    merge_heap(sym);
  out.insert(out.end(), sym.begin(), sym.end());
}

void BpeModel::encode_word(std::string_view word, std::vector<int32_t>& out) const {
  if (word.size() == 1) {
    if (byte_id_[static_cast<unsigned char>(word[0])] >= 0)
      out.push_back(byte_id_[static_cast<unsigned char>(word[0])]);
    return;
  }
  if (word.size() > kCacheMaxWordBytes) {
    encode_word_uncached(word, out);
    return;
  }
  WordCache& cache = thread_cache(instance_);
  auto it = cache.map.find(word);
  if (it != cache.map.end()) {
    out.insert(out.end(), cache.arena.begin() + it->second.first,
               cache.arena.begin() + it->second.first + it->second.second);
    return;
  }
  size_t start = out.size();
  encode_word_uncached(word, out);
  if (cache.map.size() >= kCacheMaxEntries) {
    cache.map.clear();
    cache.arena.clear();
  }
  uint32_t off = static_cast<uint32_t>(cache.arena.size());
  cache.arena.insert(cache.arena.end(), out.begin() + static_cast<std::ptrdiff_t>(start), out.end());
  cache.map.emplace(std::string(word), std::make_pair(off, static_cast<uint32_t>(out.size() - start)));
}

}  // namespace tsft::tokenizer
