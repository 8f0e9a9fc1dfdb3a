#include "train/lora_train.hpp"

#include "core/error.hpp"
#include "model/lora.hpp"
#include "train/select.hpp"

namespace tsft {

void write_model_files(const Model& host, const std::string& dir, const std::string& tok_dir,
                       const std::string& dtype, const TrainConfig& cfg) {
  if (host.cfg.lora.r > 0)
    adapter_write_files(host, dir, cfg.model_dir, dtype);
  else
    model_write_files(host, dir, tok_dir, dtype);
}
void save_model(const Model& host, const std::string& dir, const std::string& tok_dir,
                const std::string& dtype, const TrainConfig& cfg) {
  if (host.cfg.lora.r > 0)
    adapter_save(host, dir, cfg.model_dir, dtype);
  else
    model_save(host, dir, tok_dir, dtype);
}

Model load_start(const TrainConfig& cfg) {
  const bool resuming = !cfg.resume_dir.empty();
  if (!cfg.lora.on()) return model_load(resuming ? cfg.resume_dir : cfg.model_dir);
  TSFT_USAGE_CHECK(!cfg.model_dir.empty(),
                   "LoRA training needs --model (the base model; checkpoints hold "
                   "the adapter only, also when resuming)");
  TSFT_USAGE_CHECK(cfg.trainable == "all",
                   "--trainable '{}' and --lora-rank exclude each other (LoRA trains the "
                   "adapter only; choose its layers with --lora-targets)",
                   cfg.trainable);
  Model m = model_load(cfg.model_dir);
  if (resuming)
    adapter_load(m, cfg.resume_dir);
  else
    lora_attach(m, lora_config_make(cfg.lora, m.table, m.cfg.L, m.cfg.tie_word_embeddings), cfg.seed);
  return m;
}

}  // namespace tsft
