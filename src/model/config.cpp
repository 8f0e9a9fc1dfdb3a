#include "model/config.hpp"

#include <climits>
#include <cmath>
#include <set>
#include <type_traits>

#include "core/error.hpp"
#include "core/fs.hpp"

namespace tsft {
namespace {

using json = nlohmann::json;

// An int from a JSON integer (or an integral float, 2048.0), range-checked: nlohmann's get<int>() wraps
// large integers and converts 1e176 with undefined behaviour.
int as_int(const json& v, const char* key, const std::string& ctx) {
  const double d = v.is_number_integer() ? 0.0 : v.get<double>();  // type_error when not a number
  TSFT_CHECK(v.is_number_integer() || (std::isfinite(d) && d == std::trunc(d)),
             "{}: key '{}' must be an integer, got {}", ctx, key, v.dump());
  const bool fits = v.is_number_unsigned()  ? v.get<uint64_t>() <= (uint64_t)INT_MAX
                    : v.is_number_integer() ? v.get<int64_t>() >= INT_MIN && v.get<int64_t>() <= INT_MAX
                                            : d >= INT_MIN && d <= INT_MAX;
  TSFT_CHECK(fits, "{}: key '{}' = {} is out of range for an int", ctx, key, v.dump());
  return v.is_number_integer() ? (int)v.get<int64_t>() : (int)d;
}

template <typename T>
T get_as(const json& v, const char* key, const std::string& ctx) {
  if constexpr (std::is_same_v<T, int>) {
    return as_int(v, key, ctx);
  } else if constexpr (std::is_same_v<T, std::vector<int>>) {
    TSFT_CHECK(v.is_array(), "{}: key '{}' must be an array of integers", ctx, key);
    std::vector<int> out;
    for (const json& e : v) out.push_back(as_int(e, key, ctx));
    return out;
  } else {
    return v.get<T>();
  }
}

template <typename T>
T get_req(const json& j, const char* key, const std::string& ctx) {
  TSFT_CHECK(j.contains(key) && !j[key].is_null(), "{}: missing required key '{}'", ctx, key);
  try {
    return get_as<T>(j[key], key, ctx);
  } catch (const json::exception& e) {
    TSFT_FAIL("{}: key '{}' has the wrong type ({})", ctx, key, e.what());
  }
}

template <typename T>
T get_opt(const json& j, const char* key, T def, const std::string& ctx) {
  if (!j.contains(key) || j[key].is_null()) return def;
  try {
    return get_as<T>(j[key], key, ctx);
  } catch (const json::exception& e) {
    TSFT_FAIL("{}: key '{}' has the wrong type ({})", ctx, key, e.what());
  }
}

// rope_scaling (classic) or rope_parameters (transformers v5) -> RopeConfig.
void parse_rope(const json& j, RopeConfig& rope, const std::string& ctx) {
  const json* rp = nullptr;
  std::string where;
  if (j.contains("rope_parameters") && j["rope_parameters"].is_object()) {
    rp = &j["rope_parameters"];
    where = "rope_parameters";
  }
  rope.theta = get_opt<double>(j, "rope_theta", 10000.0, ctx);
  if (rp && rp->contains("rope_theta")) rope.theta = get_req<double>(*rp, "rope_theta", ctx + ": " + where);
  const json* rs = rp;
  if (!rs && j.contains("rope_scaling") && !j["rope_scaling"].is_null()) {
    rs = &j["rope_scaling"];
    where = "rope_scaling";
  }
  if (!rs) return;
  TSFT_CHECK(rs->is_object(), "{}: key '{}' must be an object", ctx, where);
  std::string type = get_opt<std::string>(*rs, "rope_type", "", ctx);
  if (type.empty()) type = get_opt<std::string>(*rs, "type", "default", ctx);
  const std::string sub = ctx + ": " + where;
  if (type == "default") {
    rope.type = RopeType::standard;
  } else if (type == "llama3") {
    rope.type = RopeType::llama3;
    rope.factor = get_req<double>(*rs, "factor", sub);
    rope.low_freq_factor = get_req<double>(*rs, "low_freq_factor", sub);
    rope.high_freq_factor = get_req<double>(*rs, "high_freq_factor", sub);
    rope.original_max_position = get_req<int>(*rs, "original_max_position_embeddings", sub);
  } else {
    TSFT_FAIL("{}: key '{}.rope_type' = '{}' is not supported (supported: default, llama3)", ctx, where,
              type);
  }
}

}  // namespace

ModelConfig config_from_json(const json& j, const std::string& ctx) {
  TSFT_CHECK(j.is_object(), "{}: config must be a JSON object", ctx);
  ModelConfig c;
  c.raw = j;
  c.model_type = get_req<std::string>(j, "model_type", ctx);
  static const std::set<std::string> known = {"llama", "qwen2", "qwen3"};
  TSFT_CHECK(known.count(c.model_type), "{}: key 'model_type' = '{}' is not a supported architecture "
             "(supported: llama, qwen2, qwen3)", ctx, c.model_type);
  c.V = get_req<int>(j, "vocab_size", ctx);
  c.C = get_req<int>(j, "hidden_size", ctx);
  c.F = get_req<int>(j, "intermediate_size", ctx);
  c.L = get_req<int>(j, "num_hidden_layers", ctx);
  c.H = get_req<int>(j, "num_attention_heads", ctx);
  c.KV = get_opt<int>(j, "num_key_value_heads", c.H, ctx);
  c.D = get_opt<int>(j, "head_dim", c.H > 0 ? c.C / c.H : 0, ctx);
  c.max_position = get_opt<int>(j, "max_position_embeddings", 2048, ctx);
  c.rms_norm_eps = get_opt<double>(j, "rms_norm_eps", 1e-6, ctx);
  parse_rope(j, c.rope, ctx);
  std::string act = get_opt<std::string>(j, "hidden_act", "silu", ctx);
  TSFT_CHECK(act == "silu", "{}: key 'hidden_act' = '{}' is not supported (only silu / SwiGLU)", ctx, act);
  if (get_opt<bool>(j, "use_sliding_window", false, ctx))
    TSFT_FAIL("{}: key 'use_sliding_window' = true is not supported (full causal attention only)", ctx);
  if (j.contains("layer_types") && j["layer_types"].is_array())
    for (auto& t : j["layer_types"])
      TSFT_CHECK(t == "full_attention", "{}: key 'layer_types' contains '{}' (only full_attention)", ctx,
                 t.dump());
  if (j.contains("pretraining_tp"))
    TSFT_CHECK(get_opt<int>(j, "pretraining_tp", 1, ctx) == 1, "{}: key 'pretraining_tp' != 1 unsupported",
               ctx);
  bool attention_bias = get_opt<bool>(j, "attention_bias", false, ctx);
  c.mlp_bias = get_opt<bool>(j, "mlp_bias", false, ctx);
  if (c.model_type == "qwen2") {
    c.qkv_bias = true;  // Qwen2Attention: q/k/v Linear(bias=True), o_proj bias=False
    c.o_bias = false;
    TSFT_CHECK(!c.mlp_bias, "{}: key 'mlp_bias' is not a qwen2 option", ctx);
  } else {
    c.qkv_bias = c.o_bias = attention_bias;
  }
  c.qk_norm = c.model_type == "qwen3";
  c.tie_word_embeddings = get_opt<bool>(j, "tie_word_embeddings", c.model_type != "llama", ctx);
  c.bos_token_id = get_opt<int>(j, "bos_token_id", -1, ctx);
  if (j.contains("eos_token_id") && !j["eos_token_id"].is_null()) {
    if (j["eos_token_id"].is_array())
      c.eos_token_ids = get_req<std::vector<int>>(j, "eos_token_id", ctx);
    else
      c.eos_token_ids = {get_req<int>(j, "eos_token_id", ctx)};
  }
  c.dtype = get_opt<std::string>(j, "torch_dtype", get_opt<std::string>(j, "dtype", "float32", ctx), ctx);
  config_validate(c, ctx);
  return c;
}

void config_validate(const ModelConfig& c, const std::string& ctx) {
  TSFT_CHECK(c.V > 0 && c.C > 0 && c.F > 0 && c.L > 0 && c.H > 0 && c.KV > 0 && c.D > 0,
             "{}: sizes must be positive (vocab_size {}, hidden_size {}, intermediate_size {}, "
             "num_hidden_layers {}, num_attention_heads {}, num_key_value_heads {}, head_dim {})",
             ctx, c.V, c.C, c.F, c.L, c.H, c.KV, c.D);
  TSFT_CHECK(c.H % c.KV == 0, "{}: num_attention_heads {} is not a multiple of num_key_value_heads {}", ctx,
             c.H, c.KV);
  TSFT_CHECK(c.D % 2 == 0, "{}: head_dim {} must be even for RoPE", ctx, c.D);
  TSFT_CHECK(c.rms_norm_eps > 0, "{}: rms_norm_eps must be > 0", ctx);
  TSFT_CHECK(c.rope.theta > 0, "{}: rope_theta must be > 0", ctx);
}

ModelConfig config_load(const std::string& path) {
  std::string text = fs_read_text(path);
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    TSFT_FAIL("{}: invalid JSON at byte {}: {}", path, e.byte, e.what());
  } catch (const json::exception& e) {  // a number out of range (1e999)
    TSFT_FAIL("{}: invalid JSON: {}", path, e.what());
  }
  return config_from_json(j, path);
}

json config_to_json(const ModelConfig& c) {
  json j = c.raw.is_object() ? c.raw : json::object();
  // v5-style rope_parameters is rewritten into the classic keys both readers accept.
  j.erase("rope_parameters");
  j["model_type"] = c.model_type;
  static const std::map<std::string, std::string> arch = {
      {"llama", "LlamaForCausalLM"}, {"qwen2", "Qwen2ForCausalLM"}, {"qwen3", "Qwen3ForCausalLM"}};
  if (!j.contains("architectures")) j["architectures"] = {arch.at(c.model_type)};
  j["vocab_size"] = c.V;
  j["hidden_size"] = c.C;
  j["intermediate_size"] = c.F;
  j["num_hidden_layers"] = c.L;
  j["num_attention_heads"] = c.H;
  j["num_key_value_heads"] = c.KV;
  j["head_dim"] = c.D;
  j["max_position_embeddings"] = c.max_position;
  j["rms_norm_eps"] = c.rms_norm_eps;
  j["hidden_act"] = "silu";
  j["rope_theta"] = c.rope.theta;
  if (c.rope.type == RopeType::llama3) {
    j["rope_scaling"] = {{"rope_type", "llama3"},
                         {"factor", c.rope.factor},
                         {"low_freq_factor", c.rope.low_freq_factor},
                         {"high_freq_factor", c.rope.high_freq_factor},
                         {"original_max_position_embeddings", c.rope.original_max_position}};
  } else {
    j["rope_scaling"] = nullptr;
  }
  if (c.model_type != "qwen2") j["attention_bias"] = c.qkv_bias;
  if (c.model_type == "llama") j["mlp_bias"] = c.mlp_bias;
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  if (c.bos_token_id >= 0) j["bos_token_id"] = c.bos_token_id;
  if (c.eos_token_ids.size() == 1) j["eos_token_id"] = c.eos_token_ids[0];
  else if (!c.eos_token_ids.empty()) j["eos_token_id"] = c.eos_token_ids;
  j["torch_dtype"] = c.dtype;
  j.erase("dtype");
  return j;
}

ModelConfig config_make(const std::string& model_type, int V, int C, int F, int L, int H, int KV, int D,
                        int max_position) {
  json j = {{"model_type", model_type},
            {"vocab_size", V},
            {"hidden_size", C},
            {"intermediate_size", F},
            {"num_hidden_layers", L},
            {"num_attention_heads", H},
            {"num_key_value_heads", KV},
            {"head_dim", D > 0 ? D : C / H},
            {"max_position_embeddings", max_position},
            {"rms_norm_eps", 1e-6},
            {"rope_theta", model_type == "llama" ? 500000.0 : 1000000.0},
            {"hidden_act", "silu"},
            {"tie_word_embeddings", model_type != "llama"},
            {"initializer_range", 0.02},
            {"torch_dtype", "float32"}};
  return config_from_json(j, "tsft init (" + model_type + ")");
}

}  // namespace tsft
