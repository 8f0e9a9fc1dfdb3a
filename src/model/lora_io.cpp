// PEFT adapter directories <-> the adapter of a Model: adapter_config.json (PEFT's LoraConfig keys, as
// PEFT 0.21 writes them) and adapter_model.safetensors ("base_model.model.<module>.lora_A.weight").
#include <filesystem>
#include <regex>
#include <set>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/safetensors.hpp"
#include "model/lora.hpp"

namespace fs = std::filesystem;

namespace tsft {

namespace {
constexpr const char* kPrefix = "base_model.model.";

// Keys whose value does not change the adapted model (metadata, init-time options).
const std::set<std::string>& informational_keys() {
  static const std::set<std::string> k = {"base_model_name_or_path",
                                          "revision",
                                          "peft_version",
                                          "auto_mapping",
                                          "inference_mode",
                                          "task_type",
                                          "init_lora_weights",
                                          "loftq_config",
                                          "eva_config",
                                          "corda_config",
                                          "lora_ga_config",
                                          "megatron_core",
                                          "qalora_group_size",
                                          "ensure_weight_tying",
                                          "layers_pattern"};
  return k;
}
// Keys this reader interprets.
const std::set<std::string>& interpreted_keys() {
  static const std::set<std::string> k = {
      "peft_type", "r", "lora_alpha", "lora_dropout", "use_rslora", "target_modules", "layers_to_transform"};
  return k;
}
// Any other key must hold its "off" value: null, false, "none", {} or [].
bool is_off(const nlohmann::json& v) {
  return v.is_null() || (v.is_boolean() && !v.get<bool>()) ||
         (v.is_string() && v.get<std::string>() == "none") || ((v.is_object() || v.is_array()) && v.empty());
}

std::string module_of(const std::string& weight) {
  return weight.substr(0, weight.size() - 7);
}  // - ".weight"

std::string regex_escape(const std::string& s) {
  std::string r;
  for (char ch : s) {
    if (std::string(".^$|()[]{}*+?\\").find(ch) != std::string::npos) r += '\\';
    r += ch;
  }
  return r;
}

DType dtype_of(const std::string& s) {
  if (s == "float32") return DType::F32;
  if (s == "bfloat16") return DType::BF16;
  if (s == "float16") return DType::F16;
  TSFT_FAIL("adapter_save: unsupported dtype '{}' (float32, bfloat16, float16)", s);
}

// layers_to_transform: null (every layer), an index or a list of indices, each a layer of the model.
std::set<int64_t> adapter_layers(const nlohmann::json& j, const std::string& path, const ModelConfig& cfg) {
  std::set<int64_t> layers;
  const nlohmann::json lt = j.contains("layers_to_transform") ? j["layers_to_transform"] : nlohmann::json();
  auto layer_index = [&](const nlohmann::json& x) {
    TSFT_CHECK(x.is_number_integer(), "{}: layers_to_transform must list layer indices", path);
    // An unsigned index above INT64_MAX is clamped to it (and refused below), not wrapped.
    return x.is_number_unsigned() ? (int64_t)std::min<uint64_t>(x.get<uint64_t>(), INT64_MAX)
                                  : x.get<int64_t>();
  };
  if (lt.is_number())
    layers.insert(layer_index(lt));
  else if (lt.is_array())
    for (auto& x : lt) layers.insert(layer_index(x));
  else
    TSFT_CHECK(lt.is_null(), "{}: layers_to_transform must be null, an index or a list", path);
  for (int64_t l : layers)
    TSFT_CHECK(l >= 0 && l < cfg.L, "{}: layers_to_transform has layer {}; the model has {} layers", path, l,
               cfg.L);
  return layers;
}

// target_modules resolved to the base model's tensor names, PEFT's way: "all-linear" is every linear layer
// but the output head; another string is a regex that must match the whole module name; a list entry
// matches a module whose name is it or ends with "." + it. Restricted to `layers` when given.
std::vector<std::string> adapter_targets(const nlohmann::json& tm, const std::set<int64_t>& layers,
                                         const std::string& path, const ModelConfig& cfg) {
  std::vector<std::string> targets;
  TensorTable base = tensor_table_build([&] {
    ModelConfig c = cfg;
    c.lora = {};
    return c;
  }());
  if (tm.is_string() && tm.get<std::string>() == "all-linear") {  // PEFT's shorthand: every linear layer
    for (auto& e : base.entries)                                  // except the output head
      if (lora_proj_of(e) >= 0 && (layers.empty() || layers.count(e.layer))) targets.push_back(e.name);
  } else if (tm.is_string()) {
    TSFT_CHECK(layers.empty(), "{}: layers_to_transform with a regex target_modules is not supported", path);
    std::regex re;
    try {
      re = std::regex(tm.get<std::string>(), std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      TSFT_FAIL("{}: target_modules regex {} is invalid: {}", path, tm.dump(), e.what());
    }
    for (auto& e : base.entries)
      if (lora_proj_of(e) >= 0 && std::regex_match(module_of(e.name), re)) targets.push_back(e.name);
    TSFT_CHECK(!targets.empty(), "{}: target_modules {} matches no linear layer of this {} model", path,
               tm.dump(), cfg.model_type);
  } else {
    TSFT_CHECK(tm.is_array() && !tm.empty(), "{}: target_modules must be a non-empty list or a regex", path);
    std::vector<bool> take(base.entries.size(), false);
    for (auto& t : tm) {
      TSFT_CHECK(t.is_string(), "{}: target_modules entries must be strings", path);
      const std::string name = t.get<std::string>();
      bool any = false;
      for (size_t i = 0; i < base.entries.size(); i++) {
        const TensorEntry& e = base.entries[i];
        if (e.shape.size() != 2) continue;
        const std::string mod = module_of(e.name);
        const bool match =
            mod == name || (mod.size() > name.size() &&
                            mod.compare(mod.size() - name.size() - 1, name.size() + 1, "." + name) == 0);
        if (!match) continue;
        TSFT_CHECK(lora_proj_of(e) >= 0,
                   "{}: target module '{}' ({}) is not a linear layer an adapter here can "
                   "target (q/k/v/o/gate/up/down_proj)",
                   path, name, e.name);
        any = true;
        if (layers.empty() || layers.count(e.layer)) take[i] = true;
      }
      TSFT_CHECK(any,
                 "{}: unknown target module '{}': this {} model has q_proj, k_proj, v_proj, o_proj, "
                 "gate_proj, up_proj, down_proj",
                 path, name, cfg.model_type);
    }
    for (size_t i = 0; i < base.entries.size(); i++)
      if (take[i]) targets.push_back(base.entries[i].name);
  }
  return targets;
}

}  // namespace

std::string peft_key(const std::string& name, bool with_default) {
  std::string k = kPrefix + name;
  if (with_default)
    for (const char* part : {".lora_A.", ".lora_B."}) {
      size_t at = k.rfind(part);
      if (at != std::string::npos) return k.substr(0, at + 8) + "default." + k.substr(at + 8);
    }
  return k;
}

LoraConfig adapter_config_read(const std::string& path, const ModelConfig& cfg) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(fs_read_text(path));
  } catch (const nlohmann::json::exception& e) {
    TSFT_FAIL("{}: invalid JSON: {}", path, e.what());
  }
  TSFT_CHECK(j.is_object(), "{}: expected a JSON object", path);
  for (auto& [k, v] : j.items())
    TSFT_CHECK(interpreted_keys().count(k) || informational_keys().count(k) || is_off(v),
               "{}: key '{}' = {} is not supported (only plain LoRA: no DoRA, bias, modules_to_save, "
               "rank/alpha patterns, ...)",
               path, k, v.dump());
  auto need = [&](const char* key) -> const nlohmann::json& {
    TSFT_CHECK(j.contains(key), "{}: missing key '{}'", path, key);
    return j[key];
  };
  TSFT_CHECK(need("peft_type") == "LORA", "{}: peft_type {} is not LORA", path, j["peft_type"].dump());
  LoraConfig lc;
  // Integers are range-checked as int64 before narrowing: r = 2^32 + 1 must not become 1.
  TSFT_CHECK(
      need("r").is_number_integer() && j["r"].get<int64_t>() >= 1 && j["r"].get<int64_t>() <= INT32_MAX,
      "{}: r = {} must be a positive integer", path, j["r"].dump());
  lc.r = j["r"].get<int>();
  TSFT_CHECK(need("lora_alpha").is_number(), "{}: lora_alpha must be a number", path);
  lc.alpha = j["lora_alpha"].get<double>();
  if (j.contains("lora_dropout") && !j["lora_dropout"].is_null()) {
    TSFT_CHECK(j["lora_dropout"].is_number(), "{}: lora_dropout must be a number", path);
    lc.dropout = j["lora_dropout"].get<double>();
  }
  if (j.contains("use_rslora") && !j["use_rslora"].is_null()) {
    TSFT_CHECK(j["use_rslora"].is_boolean(), "{}: use_rslora must be true or false", path);
    lc.rslora = j["use_rslora"].get<bool>();
  }
  const std::set<int64_t> layers = adapter_layers(j, path, cfg);
  lc.targets = adapter_targets(need("target_modules"), layers, path, cfg);
  lora_config_validate(lc, path);
  return lc;
}

void adapter_load(Model& m, const std::string& dir) {
  TSFT_CHECK(fs::is_directory(dir), "{}: not an adapter directory", dir);
  const std::string cfg_path = (fs::path(dir) / "adapter_config.json").string();
  const std::string st_path = (fs::path(dir) / "adapter_model.safetensors").string();
  TSFT_CHECK(fs::exists(cfg_path), "{}: no adapter_config.json (expected a PEFT adapter directory)", dir);
  TSFT_CHECK(fs::exists(st_path),
             "{}: no adapter_model.safetensors (PEFT adapters saved with "
             "safe_serialization=True; .bin files are not read)",
             dir);
  LoraConfig lc = adapter_config_read(cfg_path, m.cfg);
  auto file = SafetensorsFile::open(st_path);
  // The rank is checked against the file before the adapter is allocated: a config saying r = 10^9
  // would otherwise try to allocate first (every lora_A is [r, in]).
  bool any_a = false;
  for (const TensorInfo& t : file->tensors()) {
    if (t.name.find(".lora_A.") == std::string::npos) continue;
    any_a = true;
    TSFT_CHECK(t.shape.size() == 2 && t.shape[0] == lc.r,
               "{}: tensor '{}' has shape {} but {} says r = {} (every lora_A is [r, in])", st_path, t.name,
               shape_str(t.shape), cfg_path, lc.r);
  }
  TSFT_CHECK(any_a, "{}: no lora_A tensor (not a PEFT LoRA adapter?)", st_path);
  lora_attach(m, lc, 0);
  std::set<std::string> expected;
  for_each_tensor(m, [&](TensorEntry& e, TensorRef<float> r) {
    if (e.group != Group::lora) return;
    const std::string key = peft_key(e.name);
    expected.insert(key);
    const TensorInfo* info = file->find(key);
    TSFT_CHECK(info, "{}: missing tensor '{}' (adapter_config.json targets {})", st_path, key,
               module_of(e.name));
    TSFT_CHECK(info->shape == e.shape,
               "{}: tensor '{}' has shape {} but the base model with r = {} implies {} "
               "(an adapter for another architecture?)",
               st_path, key, shape_str(info->shape), lc.r, shape_str(e.shape));
    TSFT_CHECK(dtype_is_float(info->dtype), "{}: tensor '{}' has dtype {}; a float dtype is required",
               st_path, key, dtype_name(info->dtype));
    file->read_f32(*info, r.w);
    e.file_dtype = info->dtype;
  });
  for (const TensorInfo& t : file->tensors())
    TSFT_CHECK(expected.count(t.name),
               "{}: unexpected tensor '{}' — not an adapter of a module that "
               "adapter_config.json targets in this model ({} layers)",
               st_path, t.name, m.cfg.L);
}

Model model_load_adapted(const std::string& dir, const std::string& adapter_dir) {
  Model m = model_load(dir);
  if (!adapter_dir.empty()) adapter_load(m, adapter_dir);
  return m;
}

nlohmann::json adapter_config_json(const LoraConfig& lc, const ModelConfig& cfg,
                                   const std::string& base_model) {
  // target_modules as PEFT writes it: module names (+ layers_to_transform) when the targets are every
  // listed module of the listed layers, else a regex matching exactly the target module names.
  TensorTable base = tensor_table_build([&] {
    ModelConfig c = cfg;
    c.lora = {};
    return c;
  }());
  std::set<std::string> mods;
  std::set<int> layers;
  for (auto& t : lc.targets) {
    mods.insert(lora_slots(lora_proj_of(base.get(t))).module);
    layers.insert(base.get(t).layer);
  }
  size_t product = 0;
  for (auto& e : base.entries)
    if (lora_proj_of(e) >= 0 && mods.count(lora_slots(lora_proj_of(e)).module) && layers.count(e.layer))
      product++;
  nlohmann::json target_modules, layers_json;
  if (product == lc.targets.size()) {
    target_modules = nlohmann::json(std::vector<std::string>(mods.begin(), mods.end()));
    if ((int)layers.size() != cfg.L) layers_json = std::vector<int>(layers.begin(), layers.end());
  } else {
    std::string re;
    for (auto& t : lc.targets) re += (re.empty() ? "" : "|") + regex_escape(module_of(t));
    target_modules = re;
  }
  nlohmann::json alpha =
      lc.alpha == (double)(int64_t)lc.alpha ? nlohmann::json((int64_t)lc.alpha) : nlohmann::json(lc.alpha);
  nlohmann::json j = {
      {"alora_invocation_tokens", nullptr},
      {"alpha_pattern", nlohmann::json::object()},
      {"arrow_config", nullptr},
      {"auto_mapping", nullptr},
      {"base_model_name_or_path", base_model.empty() ? nlohmann::json() : nlohmann::json(base_model)},
      {"bias", "none"},
      {"corda_config", nullptr},
      {"ensure_weight_tying", false},
      {"eva_config", nullptr},
      {"exclude_modules", nullptr},
      {"fan_in_fan_out", false},
      {"inference_mode", true},
      {"init_lora_weights", true},
      {"kasa_config", nullptr},
      {"layer_replication", nullptr},
      {"layers_pattern", nullptr},
      {"layers_to_transform", layers_json},
      {"loftq_config", nlohmann::json::object()},
      {"lora_alpha", alpha},
      {"lora_bias", false},
      {"lora_dropout", lc.dropout},
      {"lora_ga_config", nullptr},
      {"megatron_config", nullptr},
      {"megatron_core", "megatron.core"},
      {"modules_to_save", nullptr},
      {"monteclora_config", nullptr},
      {"peft_type", "LORA"},
      {"peft_version", "0.21.0"},
      {"qalora_group_size", 16},
      {"r", lc.r},
      {"rank_pattern", nlohmann::json::object()},
      {"revision", nullptr},
      {"target_modules", target_modules},
      {"target_parameters", nullptr},
      {"task_type", "CAUSAL_LM"},
      {"trainable_token_indices", nullptr},
      {"use_bdlora", nullptr},
      {"use_dora", false},
      {"use_qalora", false},
      {"use_rslora", lc.rslora},
      {"velora_config", nullptr}};
  return j;
}

void adapter_write_files(const Model& m, const std::string& dir, const std::string& base_model,
                         const std::string& dtype) {
  TSFT_CHECK(m.cfg.lora.r > 0, "adapter_save: the model has no LoRA adapter");
  std::vector<TensorWrite> out;
  for_each_tensor(m, [&](const TensorEntry& e, TensorRef<const float> r) {
    if (e.group != Group::lora) return;
    TensorWrite t;
    t.name = peft_key(e.name);
    t.dtype = dtype.empty() ? e.file_dtype : dtype_of(dtype);
    t.shape = e.shape;
    t.bytes = safetensors_encode_f32(r.w, e.numel, t.dtype);
    out.push_back(std::move(t));
  });
  safetensors_write((fs::path(dir) / "adapter_model.safetensors").string(), out, {{"format", "pt"}});
  fs_write_atomic((fs::path(dir) / "adapter_config.json").string(),
                  adapter_config_json(m.cfg.lora, m.cfg, base_model).dump(2) + "\n");
}

void adapter_save(const Model& m, const std::string& dir, const std::string& base_model,
                  const std::string& dtype) {
  fs::path final_dir = fs::absolute(dir);
  if (final_dir.has_parent_path()) fs::create_directories(final_dir.parent_path());
  fs_write_dir(final_dir.string(),
               [&](const std::string& tmp) { adapter_write_files(m, tmp, base_model, dtype); });
}

}  // namespace tsft
