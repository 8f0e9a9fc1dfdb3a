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

// "[2, 3]": a shape for error messages.
std::string shape_str(const std::vector<int64_t>& shape);

struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  size_t begin = 0, end = 0;  // byte offsets into the data section
  int64_t numel() const;
  size_t nbytes() const { return end - begin; }
};

// A read-only, memory-mapped safetensors file. Opening validates like the reference implementation
// (huggingface/safetensors, SafeTensors::read_metadata + Metadata::validate); the reference's error name
// is quoted in each message, e.g. "(InvalidOffset)":
// header length within bounds (8 + N <= file size, N <= 100 MB), header is JSON object, each entry has
// a known dtype, integer shape and two offsets, offsets sorted contiguously from 0 with no gaps or
// overlaps, numel x dtype size == end - begin, the last end == data section size. Errors name the file
// and the tensor. Stricter than the reference: duplicate JSON keys at any level are rejected (serde
// keeps the last), and dtypes tsft has no type for (U16/U32/U64/F8_*) are refused by name. Unknown
// fields inside a tensor entry are ignored, as the reference does. `__metadata__: null` means none.
// The file must not be truncated by someone else while mapped (that would raise SIGBUS on access).
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
  // Bytes of `t` (little-endian, in t.dtype). Not necessarily aligned: copy with memcpy.
  const uint8_t* raw(const TensorInfo& t) const { return data_ + t.begin; }
  size_t header_size() const { return header_size_; }  // N, the JSON length incl. padding
  size_t data_size() const { return data_size_; }      // bytes of the data section

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
  size_t header_size_ = 0, data_size_ = 0;
  void parse_header(const char* json, size_t n);
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
// Convert fp32 values into the bytes of `dtype` (F64/F32/BF16/F16; narrowing rounds to nearest even).
std::vector<uint8_t> safetensors_encode_f32(const float* src, size_t n, DType dtype);
// Copy tensor `t` of `file` (name, dtype, shape, bytes) into a TensorWrite.
TensorWrite safetensors_copy(const SafetensorsFile& file, const TensorInfo& t);

// Write one file atomically (temp file in the same directory, fsync, rename, fsync directory).
// Header is padded with spaces to a multiple of 8 bytes, as the reference writer does. Layout is the
// reference's: tensors ordered by dtype rank descending (I64, F64, F32, I32, BF16, F16, I16, I8, U8,
// BOOL, the reverse of the reference's Dtype enum order), then by name; header JSON is compact with
// "__metadata__" first (keys sorted) when non-empty, then the tensors in data order, each as
// {"dtype","shape","data_offsets"}. With at most one metadata key the file is byte-identical to what
// safetensors.torch.save_file writes. Errors (duplicate or reserved names, bytes != numel x dtype size,
// negative dims, invalid UTF-8 in names) name the path and the tensor.
void safetensors_write(const std::string& path, const std::vector<TensorWrite>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// A checkpoint directory: model.safetensors, or model.safetensors.index.json + shards. When both exist
// model.safetensors wins, as in transformers. The index must have an object "weight_map" of
// tensor name -> shard file name (plain names inside `dir`); every entry must exist in its shard and
// every tensor of every shard must be mapped to that shard. Errors name the index/shard and tensor.
class SafetensorsCheckpoint {
 public:
  static SafetensorsCheckpoint open(const std::string& dir);
  std::vector<std::string> names() const;  // every tensor name, sorted
  bool has(const std::string& name) const;
  // The file holding `name` and its info; throws naming the directory and tensor when absent.
  std::pair<const SafetensorsFile*, const TensorInfo*> locate(const std::string& name) const;
  const std::vector<std::shared_ptr<SafetensorsFile>>& files() const { return files_; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::vector<std::shared_ptr<SafetensorsFile>> files_;
  std::map<std::string, std::pair<size_t, const TensorInfo*>> where_;
};

// Write a checkpoint's tensors into `dir`: one model.safetensors when max_shard_bytes == 0 or all fit,
// else model-0000i-of-0000n.safetensors shards + model.safetensors.index.json (metadata.total_size,
// weight_map), as transformers' save_pretrained does. Every file is written atomically.
// Sharding (huggingface_hub's split_state_dict_into_shards): tensors in name order fill the current
// shard until the next one would push it past max_shard_bytes (tensor bytes, headers not counted);
// a tensor larger than the limit gets a shard of its own. The index is
// {"metadata": {"total_parameters", "total_size"}, "weight_map"} (indent 2, sorted keys), total_size =
// sum of tensor bytes. Each file's __metadata__ is {"format": "pt"} overlaid with `metadata`. `dir` is
// created if missing; files of a previous save that the new one does not use (model.safetensors, the
// index, model-*-of-*.safetensors) are removed after the new files are in place.
void safetensors_write_checkpoint(const std::string& dir, const std::vector<TensorWrite>& tensors,
                                  const std::map<std::string, std::string>& metadata,
                                  size_t max_shard_bytes = 0);

}  // namespace tsft
