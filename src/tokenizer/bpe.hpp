// Byte-level BPE model (the "model" section of a Hugging Face tokenizer.json), working on raw bytes.
//
// A pre-token (bytes) starts as one symbol per byte; the adjacent pair with the lowest merge rank is
// merged, leftmost first on ties, until no ranked pair remains (Hugging Face's word.rs order). Words of
// up to kScanMax symbols use a plain scan (fastest for the usual short word); longer ones a heap over
// (rank, position) with lazy invalidation, O(n log n). Results are memoized per thread.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tsft::tokenizer {

// Open-addressing map from a merge pair (left id, right id) to (rank, merged id).
class MergeTable {
 public:
  void reserve(size_t n);
  void insert(int32_t a, int32_t b, int32_t rank, int32_t merged);
  // Returns false when (a, b) is not a merge.
  bool find(int32_t a, int32_t b, int32_t& rank, int32_t& merged) const {
    if (slots_.empty()) return false;
    uint64_t key = pack(a, b);
    for (size_t i = hash(key) & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.key == key) {
        rank = s.rank;
        merged = s.merged;
        return true;
      }
      if (s.key == kEmpty) return false;
    }
  }
  size_t size() const { return size_; }

 private:
  static constexpr uint64_t kEmpty = ~0ull;
  struct Slot {
    uint64_t key = kEmpty;
    int32_t rank = 0, merged = 0;
  };
  static uint64_t pack(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  static size_t hash(uint64_t k) { return static_cast<size_t>((k * 0x9E3779B97F4A7C15ull) >> 20); }
  std::vector<Slot> slots_;
  size_t mask_ = 0, size_ = 0;
};

// Fast hash for short byte strings (pre-tokens are a few bytes): 8 bytes at a time, multiply-mix.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ s.size();
    size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
      uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      h = (h ^ w) * 0xBF58476D1CE4E5B9ull;
      h ^= h >> 31;
    }
    uint64_t w = 0;
    if (i < s.size()) std::memcpy(&w, s.data() + i, s.size() - i);
    h = (h ^ w) * 0x94D049BB133111EBull;
    return static_cast<size_t>(h ^ (h >> 29));
  }
};
using BytesToId = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

class BpeModel {
 public:
  static constexpr size_t kScanMax = 24;

  // vocab: raw token bytes -> id; merges: (left bytes, right bytes) in rank order. Throws when a merge
  // names a token missing from the vocab or its concatenation is not in the vocab.
  BpeModel(BytesToId vocab, const std::vector<std::pair<std::string, std::string>>& merges,
           bool ignore_merges);
  BpeModel(const BpeModel&) = delete;
  BpeModel& operator=(const BpeModel&) = delete;

  // Append the ids of one pre-token (raw bytes) to `out`.
  void encode_word(std::string_view word, std::vector<int32_t>& out) const;
  // Same, without the cache (used by the cache itself and by tests of long words).
  void encode_word_uncached(std::string_view word, std::vector<int32_t>& out) const;

  const BytesToId& vocab() const { return vocab_; }
  const MergeTable& merges() const { return merges_; }
  bool ignore_merges() const { return ignore_merges_; }

 private:
  void merge_scan(std::vector<int32_t>& sym) const;
  void merge_heap(std::vector<int32_t>& sym) const;

  BytesToId vocab_;
  MergeTable merges_;
  int32_t byte_id_[256];
  bool ignore_merges_;
  uint64_t instance_;  // key of this model's per-thread caches
};

}  // namespace tsft::tokenizer
