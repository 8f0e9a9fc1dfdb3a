// `tsft experiment` on real data ([real_data]): the user's base model, the two arms of a `tsft annotate`
// output, evaluation sets in adapter formats (converted here into problem JSONL, with the roles the config
// declares for them: real_roles.hpp).
#include <filesystem>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "data/adapters.hpp"
#include "experiment/experiment_impl.hpp"
#include "experiment/real_roles.hpp"

namespace tsft::exp_detail {
namespace fs = std::filesystem;

std::vector<std::string> chat_args(const Plan& p) {
  if (p.chat_template.empty()) return {};
  return {"--chat-template", p.chat_template};
}

namespace {
// [real_data] eval_roles, one per eval file (absent or []: every file "other").
std::vector<std::string> real_eval_roles(const json& cfg, size_t files, const std::string& path) {
  auto roles = cfg_value(cfg, "real_data", "eval_roles").get<std::vector<std::string>>();
  if (roles.empty()) return std::vector<std::string>(files, "other");
  TSFT_CHECK(roles.size() == files,
             "{}: [real_data] eval_roles must have one role per eval file ({} files, {} roles)", path, files,
             roles.size());
  const auto& known = real_roles();
  for (auto& r : roles)
    TSFT_CHECK(std::count(known.begin(), known.end(), r),
               "{}: [real_data] eval_roles: unknown role '{}' (in_distribution, probes, other)", path, r);
  return roles;
}
}  // namespace

void real_check_config(const json& cfg, const std::string& path, Plan& p) {
  p.real = true;
  const json& r = cfg["real_data"];
  for (const char* k : {"base_model", "annotated"})
    TSFT_CHECK(r.contains(k), "{}: [real_data] needs {}", path, k);
  p.base_model = fs::absolute(r["base_model"].get<std::string>()).string();
  p.annotated = fs::absolute(r["annotated"].get<std::string>()).string();
  p.chat_template = cfg_arg(cfg, "real_data", "chat_template");
  TSFT_CHECK(fs::exists(p.base_model + "/config.json"), "{}: [real_data] base_model: no config.json in {}",
             path, p.base_model);
  for (const char* f : {"theorem.jsonl", "vanilla.jsonl", "problems.jsonl"})
    TSFT_CHECK(fs::exists(p.annotated + "/" + f),
               "{}: [real_data] annotated: {}/{} is missing (a tsft annotate "
               "output directory holds it)",
               path, p.annotated, f);
  auto files = cfg_value(cfg, "real_data", "eval_files").get<std::vector<std::string>>();
  auto formats = cfg_value(cfg, "real_data", "eval_formats").get<std::vector<std::string>>();
  TSFT_CHECK(!files.empty() && files.size() == formats.size(),
             "{}: [real_data] eval_files and eval_formats must be non-empty lists of the same length", path);
  const auto& known = data::adapter_formats();
  for (size_t i = 0; i < files.size(); i++) {
    TSFT_CHECK(std::count(known.begin(), known.end(), formats[i]),
               "{}: [real_data] eval_formats: unknown '{}'", path, formats[i]);
    TSFT_CHECK(fs::exists(files[i]), "{}: [real_data] eval_files: {} not found", path, files[i]);
    p.real_eval.push_back({fs::absolute(files[i]).string(), formats[i]});
  }
  auto roles = real_eval_roles(cfg, files.size(), path);
  TSFT_CHECK(std::count(roles.begin(), roles.end(), "probes") == 0 ||
                 std::count(roles.begin(), roles.end(), "in_distribution") > 0,
             "{}: [real_data] eval_roles: \"probes\" pairs variants with their originals in an "
             "\"in_distribution\" file; declare one",
             path);
  TSFT_CHECK(p.base_seeds.size() == 1,
             "{}: [real_data]: the base model is given, so base_seeds has one entry", path);
  for (auto& arm : p.arms) {
    std::string sup = arm.substr(0, arm.find(':'));
    TSFT_CHECK(sup == "theorem" || sup == "vanilla",
               "{}: [real_data] arm '{}': real data has the theorem and vanilla supervisions only", path,
               arm);
  }
}

RealData real_prepare(const Plan& p, bool dry) {
  RealData d;
  std::string sets = p.out + "/eval-sets";
  std::string all;
  std::vector<std::string> roles = real_eval_roles(p.cfg, p.real_eval.size(), p.config_path), formats, names;
  std::vector<std::vector<data::Problem>> converted;
  for (size_t i = 0; i < p.real_eval.size(); i++) {
    auto& [file, format] = p.real_eval[i];
    std::string stem = fs::path(file).stem().string();
    d.eval_files.push_back(sets + "/" + stem + ".jsonl");
    // A role changes the converted records (split, pairs); "other" leaves them as before roles existed.
    all += file + "\n" + format + "\n" + (roles[i] == "other" ? "" : roles[i] + "\n") + fs_read_text(file);
    formats.push_back(format);
    names.push_back(file);
    if (!dry) converted.push_back(data::adapter_load(format, file, stem));
  }
  if (!dry) {
    fs::create_directories(sets);
    RoleStats st = real_apply_roles(converted, roles, formats, names);
    for (size_t i = 0; i < converted.size(); i++) data::problems_write_jsonl(d.eval_files[i], converted[i]);
    fs_write_atomic(sets + "/roles.json", json{{"files", names},
                                               {"roles", roles},
                                               {"in_distribution_items", st.in_distribution},
                                               {"probe_variants", st.variants},
                                               {"variants_with_parent", st.linked}}
                                                  .dump(2) +
                                              "\n");
  }
  std::string problems = p.annotated + "/problems.jsonl";
  const int64_t val_size = cfg_value(p.cfg, "sft", "val_size").get<int64_t>(),
                train_limit = cfg_value(p.cfg, "eval", "train_limit").get<int64_t>();
  if (val_size > 0) {  // the arms' held-out tail (annotate writes both arms and problems in one order)
    d.val_file = sets + "/val.jsonl";
    if (!dry) fs_write_atomic(d.val_file, experiment_split_tail(problems, val_size).second);
  }
  if (train_limit > 0) {
    d.eval_files.push_back(sets + "/train_fit.jsonl");
    if (!dry) fs_write_atomic(d.eval_files.back(), experiment_head_lines(problems, train_limit));
  }
  for (const char* f : {"theorem.jsonl", "vanilla.jsonl", "problems.jsonl"})
    all += fs_read_text(p.annotated + "/" + f);
  // The base model by its config and each file's name, size and modification time (hashing the weights
  // of a multi-GB checkpoint would cost more than it protects against).
  all += p.base_model + "\n" + fs_read_text(p.base_model + "/config.json") + p.chat_template;
  for (auto& e : fs::directory_iterator(p.base_model))
    if (e.is_regular_file())
      all += fmt::format("{} {} {}\n", e.path().filename().string(), e.file_size(),
                         e.last_write_time().time_since_epoch().count());
  d.inputs_key = experiment_hash(all);
  return d;
}

}  // namespace tsft::exp_detail
