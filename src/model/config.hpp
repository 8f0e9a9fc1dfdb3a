// Model configuration read from / written to a Hugging Face config.json.
// Supported model_type: llama (incl. rope_scaling llama3), qwen2 (q/k/v bias, usually tied embeddings),
// qwen3 (per-head q_norm/k_norm RMSNorm over head_dim, applied before RoPE).
// Dims legend used across the engine: B batch rows, T tokens per row, C hidden, H query heads,
// KV key/value heads, D head dim, F MLP (intermediate) width, V vocabulary, L layers.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace tsft {

enum class RopeType { standard, llama3 };

struct RopeConfig {
  RopeType type = RopeType::standard;
  double theta = 10000.0;
  double factor = 1.0;            // llama3
  double low_freq_factor = 1.0;   // llama3
  double high_freq_factor = 4.0;  // llama3
  int original_max_position = 8192;
};

// A LoRA adapter over chosen linear layers (PEFT's LoraConfig subset): y = x W^T + b + s (dropout(x)
// A^T) B^T with A [r, in], B [out, r], s = alpha / r (rsLoRA: alpha / sqrt(r)). r == 0: no adapter.
// The adapter's tensors join the model's tensor table after the base tensors (group lora), named
// "<module>.lora_A.weight" / "<module>.lora_B.weight" (model/lora.hpp).
struct LoraConfig {
  int r = 0;
  double alpha = 8;
  bool rslora = false;
  double dropout = 0;
  std::vector<std::string> targets;  // HF names of the base Linear weights that carry an adapter, table order
  double scale() const;
};

struct ModelConfig {
  std::string model_type;  // "llama" | "qwen2" | "qwen3"
  int V = 0, C = 0, F = 0, L = 0, H = 0, KV = 0, D = 0;
  int max_position = 2048;
  double rms_norm_eps = 1e-6;
  RopeConfig rope;
  bool qkv_bias = false;  // q/k/v projections carry a bias
  bool o_bias = false;    // o_proj carries a bias (llama/qwen3 attention_bias)
  bool mlp_bias = false;
  bool qk_norm = false;  // qwen3
  bool tie_word_embeddings = false;
  int bos_token_id = -1;
  std::vector<int> eos_token_ids;
  std::string dtype = "float32";  // checkpoint dtype (torch_dtype / dtype)
  LoraConfig lora;                // not part of config.json (adapter_config.json, model/lora.hpp)
  nlohmann::json raw;             // the file as read; keys we do not interpret are written back unchanged
};

// Parse a config.json object; `context` names the file in error messages. Unknown model_type or an
// unsupported option (hidden_act other than silu, sliding-window attention, an unknown rope type, ...)
// -> tsft::Error naming the key.
ModelConfig config_from_json(const nlohmann::json& j, const std::string& context);
ModelConfig config_load(const std::string& path);
// HF config.json (classic hub keys: rope_theta / rope_scaling) with the raw keys preserved.
nlohmann::json config_to_json(const ModelConfig& cfg);
void config_validate(const ModelConfig& cfg, const std::string& context);

// Make a config for `tsft init`: architecture + sizes (D defaults to C / H).
ModelConfig config_make(const std::string& model_type, int V, int C, int F, int L, int H, int KV, int D,
                        int max_position);

}  // namespace tsft
