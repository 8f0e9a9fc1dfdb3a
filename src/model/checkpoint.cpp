// HF checkpoint directories <-> Model (names and layout are Hugging Face's; no mapping tables).
#include <filesystem>
#include <set>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/safetensors.hpp"
#include "model/model.hpp"

namespace fs = std::filesystem;

namespace tsft {

namespace {
DType dtype_from_torch(const std::string& s, const std::string& ctx) {
  if (s == "float32" || s == "F32") return DType::F32;
  if (s == "bfloat16" || s == "BF16") return DType::BF16;
  if (s == "float16" || s == "F16") return DType::F16;
  if (s == "float64" || s == "F64") return DType::F64;
  TSFT_FAIL("{}: unsupported dtype '{}' (float32, bfloat16, float16, float64)", ctx, s);
}

// Tensors a checkpoint may carry that are not parameters of our model.
bool ignorable(const std::string& name, const ModelConfig& c) {
  if (name.find("rotary_emb.inv_freq") != std::string::npos) return true;
  return c.tie_word_embeddings && name == "lm_head.weight";  // tied: the embedding is the head
}
}  // namespace

Model model_load(const std::string& dir) {
  TSFT_CHECK(fs::is_directory(dir), "{}: not a checkpoint directory", dir);
  std::string cfg_path = (fs::path(dir) / "config.json").string();
  TSFT_CHECK(fs::exists(cfg_path), "{}: no config.json (expected a Hugging Face model directory)", dir);
  Model m = model_create(config_load(cfg_path));
  SafetensorsCheckpoint ck = SafetensorsCheckpoint::open(dir);
  for_each_tensor(m, [&](TensorEntry& e, TensorRef<float> r) {
    TSFT_CHECK(ck.has(e.name), "{}: missing tensor '{}' (required by config.json: model_type {}, {} layers)",
               dir, e.name, m.cfg.model_type, m.cfg.L);
    auto [file, info] = ck.locate(e.name);
    TSFT_CHECK(info->shape == e.shape, "{}: tensor '{}' has shape {} but config.json implies {}",
               file->path(), e.name, shape_str(info->shape), shape_str(e.shape));
    TSFT_CHECK(dtype_is_float(info->dtype), "{}: tensor '{}' has dtype {}; a float dtype is required",
               file->path(), e.name, dtype_name(info->dtype));
    file->read_f32(*info, r.w);
    e.file_dtype = info->dtype;
  });
  std::set<std::string> extra;
  for (auto& name : ck.names())
    if (!m.table.find(name) && !ignorable(name, m.cfg)) extra.insert(name);
  if (!extra.empty())
    TSFT_FAIL(
        "{}: {} unexpected tensor(s), e.g. '{}' — the checkpoint does not match config.json "
        "(model_type {})",
        dir, extra.size(), *extra.begin(), m.cfg.model_type);
  m.bind();
  return m;
}

void model_write_files(const Model& m, const std::string& dir, const std::string& copy_from,
                       const std::string& dtype, size_t max_shard_bytes) {
  std::vector<TensorWrite> out;
  out.reserve(m.table.entries.size());
  DType forced = dtype.empty() ? DType::F32 : dtype_from_torch(dtype, "model_save");
  for_each_tensor(m, [&](const TensorEntry& e, TensorRef<const float> r) {
    if (e.group == Group::lora) return;  // the base checkpoint; adapters are saved by adapter_save
    TensorWrite t;
    t.name = e.name;
    t.dtype = dtype.empty() ? e.file_dtype : forced;
    t.shape = e.shape;
    t.bytes = safetensors_encode_f32(r.w, e.numel, t.dtype);
    out.push_back(std::move(t));
  });
  safetensors_write_checkpoint(dir, out, {{"format", "pt"}}, max_shard_bytes);
  ModelConfig cfg = m.cfg;
  if (!dtype.empty()) cfg.dtype = dtype;
  fs_write_atomic((fs::path(dir) / "config.json").string(), config_to_json(cfg).dump(2) + "\n");
  if (!copy_from.empty()) {
    for (const char* f : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                          "chat_template.jinja", "generation_config.json", "vocab.json", "merges.txt"}) {
      fs::path src = fs::path(copy_from) / f;
      if (fs::exists(src)) fs_write_atomic((fs::path(dir) / f).string(), fs_read_text(src.string()));
    }
  }
}

void model_save(const Model& m, const std::string& dir, const std::string& copy_from,
                const std::string& dtype, size_t max_shard_bytes) {
  fs::path final_dir = fs::absolute(dir);
  if (final_dir.has_parent_path()) fs::create_directories(final_dir.parent_path());
  fs_write_dir(final_dir.string(),
               [&](const std::string& tmp) { model_write_files(m, tmp, copy_from, dtype, max_shard_bytes); });
}

}  // namespace tsft
