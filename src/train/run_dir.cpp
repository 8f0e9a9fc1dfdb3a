#include "train/run_dir.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/jsonl.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace tsft {

std::string stage_tokenizer(const std::string& tok_path, const std::string& out_dir) {
  const std::string dst = (fs::path(out_dir) / "tokenizer").string();
  std::vector<std::pair<std::string, std::string>> files = {{"tokenizer.json", fs_read_text(tok_path)}};
  for (const char* f : {"tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja",
                        "generation_config.json", "vocab.json", "merges.txt"}) {
    fs::path src = fs::path(tok_path).parent_path() / f;
    if (fs::exists(src)) files.push_back({f, fs_read_text(src.string())});
  }
  bool same = fs::is_directory(dst);  // a resumed run usually finds them in place: nothing is written
  for (auto& [name, text] : files)
    same = same && fs::exists(dst + "/" + name) && fs_read_text(dst + "/" + name) == text;
  if (same) return dst;
  fs_write_dir(dst, [&](const std::string& tmp) {
    for (auto& [name, text] : files) fs_write_atomic((fs::path(tmp) / name).string(), text);
  });
  return dst;
}

void prune_checkpoints(const std::string& out, int keep) {
  if (keep <= 0) return;
  std::vector<std::string> cks;
  for (auto& p : fs::directory_iterator(out)) {
    std::string n = p.path().filename().string();
    if (p.is_directory() && n.rfind("checkpoint-", 0) == 0 && n.find(".tsft") == std::string::npos)
      cks.push_back(p.path().string());
  }
  std::sort(cks.begin(), cks.end());
  for (size_t i = 0; i + keep < cks.size(); i++) fs_remove_dir(cks[i]);
}

void truncate_metrics(const std::string& path, int64_t step) {
  if (!fs::exists(path)) return;
  std::string kept;
  jsonl_for_each(path,
                 [&](JsonlRecord& r) {
                   if (r.value.is_object() && r.value.value("step", (int64_t)0) <= step)
                     kept += std::string(r.text) + "\n";
                 },
                 {JsonlTail::kDropTorn});  // a torn last line from a crash
  fs_write_atomic(path, kept);
}

void append_line(std::ofstream& out, const std::string& path, const json& j) {
  errno = 0;
  out << j.dump() << "\n";
  out.flush();
  TSFT_CHECK(out.good(), "{}: write failed: {}", path, errno ? std::strerror(errno) : "stream error");
}

nlohmann::json trainer_state_read(const std::string& checkpoint_dir) {
  const std::string path = (std::filesystem::path(checkpoint_dir) / "trainer_state.json").string();
  nlohmann::json st = json_read_file(path);
  TSFT_CHECK(st.is_object(), "{}: expected a JSON object", path);
  using J = nlohmann::json;
  auto count = [](const J& v) { return v.is_number_integer() && v.get<int64_t>() >= 0; };
  auto number = [](const J& v) { return v.is_number(); };
  auto string = [](const J& v) { return v.is_string(); };
  auto boolean = [](const J& v) { return v.is_boolean(); };
  auto object = [](const J& v) { return v.is_object(); };
  auto any = [](const J&) { return true; };
  struct Key {
    const char* name;
    bool required;
    std::function<bool(const J&)> ok;
    const char* want;
  };
  const Key keys[] = {
      {"step", true, count, "a non-negative integer"},           {"rows", true, count, "a non-negative integer"},
      {"micro_batch", true, count, "a non-negative integer"},    {"grad_accum", true, count, "a non-negative integer"},
      {"seed", true, number, "a number"},                        {"trainable", true, any, ""},
      {"supervised_tokens_done", false, count, "a non-negative integer"},
      {"best_step", false, count, "a non-negative integer"},     {"bad_evals", false, count, "a non-negative integer"},
      {"skipped_steps", false, count, "a non-negative integer"}, {"best_val_loss", false, number, "a number"},
      {"best_val_accuracy", false, number, "a number"},          {"last_loss", false, number, "a number"},
      {"val_loss", false, number, "a number"},                   {"stop_reason", false, string, "a string"},
      {"finished", false, boolean, "true or false"},             {"config", false, object, "an object"},
  };
  for (const Key& k : keys) {
    TSFT_CHECK(!k.required || st.contains(k.name), "{}: missing key '{}'", path, k.name);
    TSFT_CHECK(!st.contains(k.name) || k.ok(st[k.name]), "{}: key '{}' = {} must be {}", path, k.name,
               st[k.name].dump(), k.want);
  }
  TSFT_CHECK(!st.contains("config") || !st["config"].contains("model") || st["config"]["model"].is_string(),
             "{}: key 'config.model' must be a string", path);
  return st;
}

}  // namespace tsft
