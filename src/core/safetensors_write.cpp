// safetensors writer (single file, sharded checkpoint) and checkpoint directory reader.
#include <fmt/ranges.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/safetensors.hpp"

namespace tsft {

namespace stdfs = std::filesystem;

namespace {

constexpr const char* kSingleName = "model.safetensors";
constexpr const char* kIndexName = "model.safetensors.index.json";

// Position of a dtype in the reference's Dtype enum (declared "in increasing alignment order"); the
// reference writer lays tensors out by this rank descending, then by name.
int dtype_rank(DType dt) {
  switch (dt) {
    case DType::BOOL:
      return 0;
    case DType::U8:
      return 1;
    case DType::I8:
      return 2;
    case DType::I16:
      return 5;
    case DType::F16:
      return 7;
    case DType::BF16:
      return 8;
    case DType::I32:
      return 9;
    case DType::F32:
      return 11;
    case DType::F64:
      return 12;
    case DType::I64:
      return 13;
  }
  return -1;
}

// A JSON string literal as serde_json writes it (nlohmann's escaping matches: \" \\ \b \f \n \r \t,
// other control characters as \u00XX, non-ASCII as raw UTF-8). Throws naming `what` on invalid UTF-8.
std::string json_quote(const std::string& s, const std::string& what) {
  try {
    return nlohmann::json(s).dump();
  } catch (const nlohmann::json::exception&) {
    TSFT_FAIL("{}: is not valid UTF-8", what);
  }
}

std::string shard_name(size_t i, size_t n) {
  return fmt::format("model-{:05d}-of-{:05d}.safetensors", i, n);
}

// model-*-of-*.safetensors as save_pretrained names shards.
bool is_shard_name(const std::string& s) {
  unsigned a = 0, b = 0;
  int used = 0;
  return s.size() == std::strlen("model-00001-of-00001.safetensors") &&
         std::sscanf(s.c_str(), "model-%5u-of-%5u.safetensors%n", &a, &b, &used) == 2 &&
         static_cast<size_t>(used) == s.size();
}

}  // namespace

std::vector<uint8_t> safetensors_encode_f32(const float* src, size_t n, DType dtype) {
  std::vector<uint8_t> out(n * dtype_size(dtype));
  uint8_t* p = out.data();
  switch (dtype) {
    case DType::F32:
      if (n) std::memcpy(p, src, n * 4);
      break;
    case DType::F64:
      for (size_t i = 0; i < n; ++i) {
        double d = src[i];
        std::memcpy(p + 8 * i, &d, 8);
      }
      break;
    case DType::BF16:
      for (size_t i = 0; i < n; ++i) {
        uint16_t h = f32_to_bf16(src[i]);
        std::memcpy(p + 2 * i, &h, 2);
      }
      break;
    case DType::F16:
      for (size_t i = 0; i < n; ++i) {
        uint16_t h = f32_to_f16(src[i]);
        std::memcpy(p + 2 * i, &h, 2);
      }
      break;
    default:
      TSFT_FAIL("safetensors_encode_f32: cannot encode float32 values as {}", dtype_name(dtype));
  }
  return out;
}

TensorWrite safetensors_copy(const SafetensorsFile& file, const TensorInfo& t) {
  TensorWrite w;
  w.name = t.name;
  w.dtype = t.dtype;
  w.shape = t.shape;
  w.bytes.assign(file.raw(t), file.raw(t) + t.nbytes());
  return w;
}

namespace {

// safetensors_write over borrowed tensors (a shard is a subset of the caller's list; no copies).
void write_file(const std::string& path, const std::vector<const TensorWrite*>& tensors,
                const std::map<std::string, std::string>& metadata) {
  std::vector<const TensorWrite*> order;
  std::set<std::string> seen;
  for (const TensorWrite* tp : tensors) {
    const TensorWrite& t = *tp;
    std::string ctx = fmt::format("{}: tensor '{}'", path, t.name);
    TSFT_CHECK(t.name != "__metadata__", "{}: the name is reserved for file metadata", ctx);
    TSFT_CHECK(seen.insert(t.name).second, "{}: name given twice", ctx);
    uint64_t numel = 1;
    bool overflow = false;
    for (int64_t d : t.shape) {
      TSFT_CHECK(d >= 0, "{}: negative dimension {} in shape", ctx, d);
      overflow |= __builtin_mul_overflow(numel, static_cast<uint64_t>(d), &numel);
    }
    uint64_t want = 0;
    overflow |= __builtin_mul_overflow(numel, static_cast<uint64_t>(dtype_size(t.dtype)), &want);
    TSFT_CHECK(!overflow && t.bytes.size() == want, "{}: {} bytes given but dtype {} x shape [{}] needs {}",
               ctx, t.bytes.size(), dtype_name(t.dtype), fmt::join(t.shape, ", "),
               overflow ? "overflow" : std::to_string(want));
    order.push_back(&t);
  }
  std::sort(order.begin(), order.end(), [](const TensorWrite* a, const TensorWrite* b) {
    int ra = dtype_rank(a->dtype), rb = dtype_rank(b->dtype);
    return ra != rb ? ra > rb : a->name < b->name;
  });

  std::string header = "{";
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [k, v] : metadata) {
      if (!first) header += ',';
      first = false;
      header += json_quote(k, fmt::format("{}: metadata key '{}'", path, k));
      header += ':';
      header += json_quote(v, fmt::format("{}: metadata value of '{}'", path, k));
    }
    header += '}';
  }
  size_t offset = 0;
  for (const TensorWrite* t : order) {
    if (header.size() > 1) header += ',';
    header += json_quote(t->name, fmt::format("{}: tensor name '{}'", path, t->name));
    header += fmt::format(":{{\"dtype\":\"{}\",\"shape\":[{}],\"data_offsets\":[{},{}]}}",
                          dtype_name(t->dtype), fmt::join(t->shape, ","), offset, offset + t->bytes.size());
    offset += t->bytes.size();
  }
  header += '}';
  header.append((8 - header.size() % 8) % 8, ' ');  // data section starts 8-byte aligned

  AtomicFile out(path);
  uint64_t n = header.size();
  out.write(&n, 8);
  out.write(header);
  for (const TensorWrite* t : order) out.write(t->bytes.data(), t->bytes.size());
  out.commit();
}

}  // namespace

void safetensors_write(const std::string& path, const std::vector<TensorWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<const TensorWrite*> ptrs;
  ptrs.reserve(tensors.size());
  for (const TensorWrite& t : tensors) ptrs.push_back(&t);
  write_file(path, ptrs, metadata);
}

void safetensors_write_checkpoint(const std::string& dir, const std::vector<TensorWrite>& tensors,
                                  const std::map<std::string, std::string>& metadata,
                                  size_t max_shard_bytes) {
  std::error_code ec;
  stdfs::create_directories(dir, ec);
  TSFT_CHECK(!ec, "{}: cannot create checkpoint directory: {}", dir, ec.message());
  std::map<std::string, std::string> md = {{"format", "pt"}};
  for (const auto& [k, v] : metadata) md[k] = v;

  // Name order, greedy fill (huggingface_hub split_state_dict_into_shards).
  std::vector<const TensorWrite*> sorted;
  for (const TensorWrite& t : tensors) sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(),
            [](const TensorWrite* a, const TensorWrite* b) { return a->name < b->name; });
  for (size_t i = 1; i < sorted.size(); ++i)
    TSFT_CHECK(sorted[i]->name != sorted[i - 1]->name, "{}: tensor '{}' given twice", dir, sorted[i]->name);
  std::vector<std::vector<const TensorWrite*>> shards;
  if (max_shard_bytes == 0) {
    shards.push_back(sorted);
  } else {
    std::vector<const TensorWrite*> cur;
    size_t cur_bytes = 0;
    for (const TensorWrite* t : sorted) {
      size_t sz = t->bytes.size();
      if (sz > max_shard_bytes) {
        shards.push_back({t});
        continue;
      }
      if (!cur.empty() && cur_bytes + sz > max_shard_bytes) {
        shards.push_back(std::move(cur));
        cur.clear();
        cur_bytes = 0;
      }
      cur.push_back(t);
      cur_bytes += sz;
    }
    if (!cur.empty() || shards.empty()) shards.push_back(std::move(cur));
  }

  std::set<std::string> keep;
  if (shards.size() == 1) {
    write_file((stdfs::path(dir) / kSingleName).string(), shards[0], md);
    keep.insert(kSingleName);
  } else {
    nlohmann::json weight_map = nlohmann::json::object();
    size_t total_size = 0;
    int64_t total_params = 0;
    for (size_t i = 0; i < shards.size(); ++i) {
      std::string name = shard_name(i + 1, shards.size());
      for (const TensorWrite* t : shards[i]) {
        weight_map[t->name] = name;
        total_size += t->bytes.size();
        total_params += t->bytes.size() / dtype_size(t->dtype);
      }
      write_file((stdfs::path(dir) / name).string(), shards[i], md);
      keep.insert(name);
    }
    nlohmann::json index = {{"metadata", {{"total_parameters", total_params}, {"total_size", total_size}}},
                            {"weight_map", weight_map}};
    // Written last, so a crash mid-save never leaves an index naming shards that are not there yet.
    fs_write_atomic((stdfs::path(dir) / kIndexName).string(), index.dump(2) + "\n");
    keep.insert(kIndexName);
  }
  // Remove what a previous save left that this layout does not use.
  for (const auto& entry : stdfs::directory_iterator(dir, ec)) {
    std::string f = entry.path().filename().string();
    if (keep.count(f)) continue;
    if (f == kSingleName || f == kIndexName || is_shard_name(f)) {
      stdfs::remove(entry.path(), ec);
      TSFT_CHECK(!ec, "{}: cannot remove stale checkpoint file '{}': {}", dir, f, ec.message());
    }
  }
  TSFT_CHECK(!ec, "{}: cannot list checkpoint directory: {}", dir, ec.message());
  fs_fsync_dir(dir);
}

SafetensorsCheckpoint SafetensorsCheckpoint::open(const std::string& dir) {
  SafetensorsCheckpoint ck;
  ck.dir_ = dir;
  std::error_code ec;
  TSFT_CHECK(stdfs::is_directory(dir, ec), "{}: checkpoint directory does not exist", dir);
  stdfs::path single = stdfs::path(dir) / kSingleName;
  stdfs::path index_path = stdfs::path(dir) / kIndexName;
  if (stdfs::exists(single, ec)) {
    ck.files_.push_back(SafetensorsFile::open(single.string()));
    for (const TensorInfo& t : ck.files_[0]->tensors()) ck.where_[t.name] = {0, &t};
    return ck;
  }
  TSFT_CHECK(stdfs::exists(index_path, ec), "{}: checkpoint directory has neither {} nor {}", dir,
             kSingleName, kIndexName);
  std::string ip = index_path.string();
  nlohmann::json index;
  try {
    index = nlohmann::json::parse(fs_read_text(ip));
  } catch (const nlohmann::json::exception& e) {
    TSFT_FAIL("{}: not valid JSON: {}", ip, e.what());
  }
  TSFT_CHECK(index.is_object(), "{}: must be a JSON object", ip);
  auto wm = index.find("weight_map");
  TSFT_CHECK(wm != index.end() && wm->is_object(), "{}: missing object field 'weight_map'", ip);
  std::map<std::string, size_t> shard_ids;  // shard file name -> index into files_
  std::map<std::string, std::string> mapped;
  for (auto it = wm->begin(); it != wm->end(); ++it) {
    TSFT_CHECK(it.value().is_string(), "{}: field 'weight_map' entry '{}' must be a file name string, got {}",
               ip, it.key(), it.value().dump());
    std::string shard = it.value().get<std::string>();
    TSFT_CHECK(!shard.empty() && shard.find('/') == std::string::npos && shard != "." && shard != "..",
               "{}: field 'weight_map' entry '{}' names '{}', expected a file name inside the directory", ip,
               it.key(), shard);
    mapped[it.key()] = shard;
    shard_ids.emplace(shard, 0);
  }
  for (auto& entry : shard_ids) {
    const std::string& shard = entry.first;  // not a structured binding: the lambda below captures it
    stdfs::path sp = stdfs::path(dir) / shard;
    TSFT_CHECK(stdfs::exists(sp, ec),
               "{}: shard '{}' named in 'weight_map' (e.g. for tensor '{}') does not exist", ip, shard,
               std::find_if(mapped.begin(), mapped.end(), [&](const auto& kv) {
                 return kv.second == shard;
               })->first);
    entry.second = ck.files_.size();
    ck.files_.push_back(SafetensorsFile::open(sp.string()));
  }
  for (const auto& [name, shard] : mapped) {
    size_t id = shard_ids.at(shard);
    const TensorInfo* t = ck.files_[id]->find(name);
    TSFT_CHECK(t, "{}: tensor '{}' is mapped to shard '{}', which does not contain it", ip, name, shard);
    ck.where_[name] = {id, t};
  }
  for (const auto& [shard, id] : shard_ids) {
    for (const TensorInfo& t : ck.files_[id]->tensors()) {
      auto m = mapped.find(t.name);
      TSFT_CHECK(m != mapped.end(), "{}: tensor '{}' of shard '{}' is missing from 'weight_map'", ip, t.name,
                 shard);
      TSFT_CHECK(m->second == shard, "{}: tensor '{}' is in shard '{}' but 'weight_map' maps it to '{}'", ip,
                 t.name, shard, m->second);
    }
  }
  return ck;
}

std::vector<std::string> SafetensorsCheckpoint::names() const {
  std::vector<std::string> out;
  for (const auto& [name, loc] : where_) out.push_back(name);
  return out;
}

bool SafetensorsCheckpoint::has(const std::string& name) const {
  return where_.count(name) > 0;
}

std::pair<const SafetensorsFile*, const TensorInfo*> SafetensorsCheckpoint::locate(
    const std::string& name) const {
  auto it = where_.find(name);
  TSFT_CHECK(it != where_.end(), "{}: checkpoint has no tensor named '{}'", dir_, name);
  return {files_[it->second.first].get(), it->second.second};
}

}  // namespace tsft
