// safetensors: mmap reader with the reference implementation's header validation, atomic writer,
// sharded checkpoints (model.safetensors.index.json). Format: u64 little-endian header length N,
// N bytes of JSON {name: {dtype, shape, data_offsets:[begin,end]}, "__metadata__": {str: str}},
// then the data section; offsets are relative to the data section.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace tsft {

enum class DType { F64, F32, BF16, F16, I64, I32, I16, I8, U8, BOOL };

size_t dtype_size(DType dt);
const char* dtype_name(DType dt);  // "F32", "BF16", ...
// Throws tsft::Error naming `context` (e.g. "file.safetensors: tensor 'x'") for an unknown name.
DType dtype_parse(const std::string& name, const std::string& context);
bool dtype_is_float(DType dt);

// Scalar conversions (round-to-nearest-even when narrowing; NaN stays NaN).
float bf16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f);
float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);

struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  size_t begin = 0, end = 0;  // byte offsets into the data section
  int64_t numel() const;
  size_t nbytes() const { return end - begin; }
};

// A read-only, memory-mapped safetensors file. Opening validates like the reference implementation:
// header length within bounds (8 + N <= file size, N <= 100 MB), header is JSON object, each entry has
// a known dtype, integer shape and two offsets, offsets sorted contiguously from 0 with no gaps or
// overlaps, numel x dtype size == end - begin, the last end == data section size. Errors name the file
// and the tensor.
class SafetensorsFile {
 public:
  static std::shared_ptr<SafetensorsFile> open(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }  // sorted by offset
  const TensorInfo* find(const std::string& name) const;               // nullptr if absent
  const TensorInfo& get(const std::string& name) const;                // throws naming file + tensor
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const uint8_t* raw(const TensorInfo& t) const { return data_ + t.begin; }

  // Convert to a host type; float targets accept F64/F32/BF16/F16, integer targets I64/I32/I16/I8/U8/BOOL.
  void read_f32(const TensorInfo& t, float* out) const;
  void read_f64(const TensorInfo& t, double* out) const;
  void read_i64(const TensorInfo& t, int64_t* out) const;
  std::vector<float> to_f32(const std::string& name) const;
  std::vector<double> to_f64(const std::string& name) const;
  std::vector<int64_t> to_i64(const std::string& name) const;

 private:
  SafetensorsFile() = default;
  std::string path_;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  const uint8_t* data_ = nullptr;  // start of the data section
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// One tensor to write: raw little-endian bytes already in `dtype` (see safetensors_encode_f32).
struct TensorWrite {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};
// Convert fp32 values into the bytes of `dtype` (F64/F32/BF16/F16).
std::vector<uint8_t> safetensors_encode_f32(const float* src, size_t n, DType dtype);

// Write one file atomically (temp file in the same directory, fsync, rename, fsync directory).
// Header is padded with spaces to a multiple of 8 bytes, as the reference writer does.
void safetensors_write(const std::string& path, const std::vector<TensorWrite>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// A checkpoint directory: model.safetensors, or model.safetensors.index.json + shards.
class SafetensorsCheckpoint {
 public:
  static SafetensorsCheckpoint open(const std::string& dir);
  std::vector<std::string> names() const;  // every tensor name, sorted
  bool has(const std::string& name) const;
  // The file holding `name` and its info; throws naming the directory and tensor when absent.
  std::pair<const SafetensorsFile*, const TensorInfo*> locate(const std::string& name) const;
  const std::vector<std::shared_ptr<SafetensorsFile>>& files() const { return files_; }

 private:
  std::string dir_;
  std::vector<std::shared_ptr<SafetensorsFile>> files_;
  std::map<std::string, std::pair<size_t, const TensorInfo*>> where_;
};

// Write a checkpoint's tensors into `dir`: one model.safetensors when max_shard_bytes == 0 or all fit,
// else model-0000i-of-0000n.safetensors shards + model.safetensors.index.json (metadata.total_size,
// weight_map), as transformers' save_pretrained does. Every file is written atomically.
void safetensors_write_checkpoint(const std::string& dir, const std::vector<TensorWrite>& tensors,
                                  const std::map<std::string, std::string>& metadata,
                                  size_t max_shard_bytes = 0);

}  // namespace tsft
