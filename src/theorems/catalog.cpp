#include "theorems/catalog.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <type_traits>

#include "core/config_schema.hpp"
#include "core/error.hpp"

namespace tsft {

uint64_t catalog_fnv1a(const void* data, size_t n, uint64_t h) {
  auto p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

std::string catalog_default_dir() { return std::string(TSFT_SOURCE_DIR) + "/data/theorems"; }

const SlotSpec& TheoremSpec::slot(const std::string& n) const {
  for (auto& s : slots)
    if (s.name == n) return s;
  TSFT_FAIL("{}: theorem '{}' has no slot '{}'", file, id, n);
}
bool TheoremSpec::has_slot(const std::string& n) const {
  return std::any_of(slots.begin(), slots.end(), [&](auto& s) { return s.name == n; });
}

int Catalog::theorem_index(const std::string& id) const {
  for (size_t i = 0; i < theorems.size(); ++i)
    if (theorems[i].id == id) return (int)i;
  return -1;
}
int Catalog::context_index(const std::string& id) const {
  for (size_t i = 0; i < contexts.size(); ++i)
    if (contexts[i].id == id) return (int)i;
  return -1;
}
int Catalog::distractor_index(const std::string& id) const {
  for (size_t i = 0; i < distractors.size(); ++i)
    if (distractors[i].id == id) return (int)i;
  return -1;
}

namespace {

struct Where {
  std::string file;
  std::string at;
};

std::string str_req(const toml::table& t, const char* key, const Where& w) {
  auto v = t[key].value<std::string>();
  TSFT_CHECK(v.has_value(), "{}: {}: missing or non-string field '{}'", w.file, w.at, key);
  return *v;
}
std::string str_opt(const toml::table& t, const char* key, const std::string& def = "") {
  return t[key].value_or(def);
}
std::vector<std::string> str_list(const toml::table& t, const char* key, const Where& w, bool required) {
  std::vector<std::string> out;
  auto arr = t[key].as_array();
  if (!arr) {
    TSFT_CHECK(!required, "{}: {}: missing array field '{}'", w.file, w.at, key);
    return out;
  }
  for (auto& e : *arr) {
    auto s = e.value<std::string>();
    TSFT_CHECK(s.has_value(), "{}: {}: '{}' must hold strings", w.file, w.at, key);
    out.push_back(*s);
  }
  return out;
}
std::map<std::string, std::string> str_map(const toml::table& t, const char* key, const Where& w) {
  std::map<std::string, std::string> out;
  if (auto tab = t[key].as_table()) {
    for (auto& [k, v] : *tab) {
      auto s = v.value<std::string>();
      TSFT_CHECK(s.has_value(), "{}: {}: {}.{} must be a string", w.file, w.at, key, std::string(k.str()));
      out[std::string(k.str())] = *s;
    }
  }
  return out;
}

// The keys of each catalog table (a typo is an error naming file, line, key and the closest key).
const std::vector<std::string> kTheoremKeys = {
    "id",           "name",           "domain",           "statement", "premises",   "violation_premise",
    "premise_text", "violation_text", "cf_rule",          "kind_word", "confusable", "target",
    "points",       "invert",         "probe_exceptions", "slot",      "template"};
const std::vector<std::string> kSlotKeys = {"name", "role", "kind", "sym", "noun", "range", "step", "scale"};
const std::vector<std::string> kTemplateKeys = {"id", "setup", "ask", "given", "ask_for"};
const std::vector<std::string> kWorldKeys = {"frames",     "intro_frames", "contexts",
                                             "distractor", "names",        "heldout_names"};
const std::vector<std::string> kNamesKeys = {"persons", "letters", "units_length", "items"};
const std::vector<std::string> kDistractorKeys = {"id", "text", "range"};

// An optional integer / boolean field: absent gives `def`, another type is an error.
template <typename T>
T opt(const toml::table& t, const char* key, T def, const Where& w) {
  const toml::node* n = t.get(key);
  if (!n) return def;
  auto v = n->value<T>();
  TSFT_CHECK(v.has_value() && (std::is_same_v<T, bool> == n->is_boolean()), "{}:{}: {}: '{}' must be {}",
             w.file, n->source().begin.line, w.at, key,
             std::is_same_v<T, bool> ? "true or false" : "an integer");
  return *v;
}

// An optional [lo, hi] integer pair: absent keeps lo/hi; anything but two integers with lo <= hi is an error.
void opt_range(const toml::table& t, const Where& w, int64_t& lo, int64_t& hi) {
  const toml::node* n = t.get("range");
  if (!n) return;
  auto r = n->as_array();
  bool ok = r && r->size() == 2 && r->get(0)->is_integer() && r->get(1)->is_integer();
  TSFT_CHECK(ok, "{}:{}: {}: 'range' must be [lo, hi] (two integers)", w.file, n->source().begin.line, w.at);
  lo = r->get(0)->value<int64_t>().value();
  hi = r->get(1)->value<int64_t>().value();
  TSFT_CHECK(lo <= hi, "{}:{}: {}: empty range [{}, {}]", w.file, n->source().begin.line, w.at, lo, hi);
}

TheoremSpec parse_theorem(const toml::table& t, const std::string& file) {
  TheoremSpec th;
  th.file = file;
  Where w{file, "[[theorem]]"};
  th.id = str_req(t, "id", w);
  w.at = "theorem '" + th.id + "'";
  schema::check_keys(t, file, w.at, kTheoremKeys);
  th.name = str_req(t, "name", w);
  th.domain = str_req(t, "domain", w);
  static const std::vector<std::string> domains = {"algebra", "geometry", "number_theory", "counting"};
  TSFT_CHECK(std::count(domains.begin(), domains.end(), th.domain), "{}: {}: unknown domain '{}'", file, w.at,
             th.domain);
  th.statement = str_req(t, "statement", w);
  th.premises = str_list(t, "premises", w, true);
  th.violation_premise = (int)opt<int64_t>(t, "violation_premise", -1, w);
  TSFT_CHECK(th.violation_premise < (int)th.premises.size(), "{}: {}: violation_premise {} out of range", file,
             w.at, th.violation_premise);
  th.premise_text = str_opt(t, "premise_text");
  th.violation_text = str_opt(t, "violation_text");
  TSFT_CHECK(th.violation_text.empty() || (!th.premise_text.empty() && th.violation_premise >= 0),
             "{}: {}: violation_text needs premise_text and violation_premise", file, w.at);
  th.cf_rule = str_opt(t, "cf_rule");
  th.kind_word = str_opt(t, "kind_word");
  th.confusable = str_opt(t, "confusable");
  th.target = str_req(t, "target", w);
  th.points = str_list(t, "points", w, false);
  th.invert = str_list(t, "invert", w, false);
  th.probe_exceptions = str_map(t, "probe_exceptions", w);
  auto slots = t["slot"].as_array();
  TSFT_CHECK(slots && !slots->empty(), "{}: {}: needs [[theorem.slot]] entries", file, w.at);
  for (auto& e : *slots) {
    auto st = e.as_table();
    TSFT_CHECK(st, "{}: {}: slot must be a table", file, w.at);
    SlotSpec s;
    Where sw{file, w.at + " slot"};
    s.name = str_req(*st, "name", sw);
    sw.at += " '" + s.name + "'";
    schema::check_keys(*st, file, sw.at, kSlotKeys);
    s.role = str_req(*st, "role", sw);
    s.kind = str_opt(*st, "kind", "number");
    s.sym = str_req(*st, "sym", sw);
    s.noun = str_req(*st, "noun", sw);
    opt_range(*st, sw, s.lo, s.hi);
    s.step = opt<int64_t>(*st, "step", 1, sw);
    TSFT_CHECK(s.step >= 1, "{}: {}: step must be >= 1", file, sw.at);
    s.scale = opt<bool>(*st, "scale", true, sw);
    th.slots.push_back(s);
  }
  TSFT_CHECK(th.has_slot(th.target), "{}: {}: target '{}' is not a slot", file, w.at, th.target);
  for (auto& x : th.invert) TSFT_CHECK(th.has_slot(x), "{}: {}: invert '{}' is not a slot", file, w.at, x);
  auto tpls = t["template"].as_array();
  TSFT_CHECK(tpls && tpls->size() >= 3, "{}: {}: needs >= 3 [[theorem.template]] entries", file, w.at);
  for (auto& e : *tpls) {
    auto tt = e.as_table();
    TSFT_CHECK(tt, "{}: {}: template must be a table", file, w.at);
    TemplateSpec tp;
    Where tw{file, w.at + " template"};
    tp.id = str_req(*tt, "id", tw);
    tw.at += " '" + tp.id + "'";
    schema::check_keys(*tt, file, tw.at, kTemplateKeys);
    tp.setup = str_req(*tt, "setup", tw);
    tp.ask = str_req(*tt, "ask", tw);
    tp.given = str_map(*tt, "given", tw);
    tp.ask_for = str_map(*tt, "ask_for", tw);
    for (auto& [k, v] : tp.given) TSFT_CHECK(th.has_slot(k), "{}: {}: given.{} is not a slot", file, tw.at, k);
    th.templates.push_back(tp);
  }
  return th;
}

void parse_world(const toml::table& t, const std::string& file, Catalog& c) {
  Where w{file, "world"};
  schema::check_keys(t, file, "world", kWorldKeys);
  c.frames = str_list(t, "frames", w, true);
  c.intro_frames = str_list(t, "intro_frames", w, true);
  for (auto& id : str_list(t, "contexts", w, true)) c.contexts.push_back({id});
  if (auto arr = t["distractor"].as_array()) {
    for (auto& e : *arr) {
      auto dt = e.as_table();
      TSFT_CHECK(dt, "{}: [[distractor]] must be tables", file);
      DistractorSpec d;
      d.id = str_req(*dt, "id", w);
      const Where dw{file, "distractor '" + d.id + "'"};
      d.text = str_req(*dt, "text", dw);
      schema::check_keys(*dt, file, dw.at, kDistractorKeys);
      opt_range(*dt, dw, d.lo, d.hi);
      c.distractors.push_back(d);
    }
  }
  for (auto [pool, key] : {std::pair{&c.train, "names"}, std::pair{&c.heldout, "heldout_names"}}) {
    auto nt = t[key].as_table();
    TSFT_CHECK(nt, "{}: missing table [{}]", file, key);
    Where nw{file, key};
    schema::check_keys(*nt, file, std::string("[") + key + "]", kNamesKeys);
    pool->persons = str_list(*nt, "persons", nw, true);
    pool->letters = str_list(*nt, "letters", nw, true);
    pool->units_length = str_list(*nt, "units_length", nw, true);
    pool->items = str_list(*nt, "items", nw, true);
    TSFT_CHECK(pool->persons.size() >= 3 && pool->letters.size() >= 8, "{}: [{}] needs >= 3 persons and 8 letters",
               file, key);
  }
}

}  // namespace

Catalog catalog_load(const std::string& dir) {
  namespace fs = std::filesystem;
  TSFT_CHECK(fs::is_directory(dir), "catalog directory '{}' does not exist", dir);
  std::vector<std::string> files;
  for (auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".toml") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  TSFT_CHECK(!files.empty(), "catalog directory '{}' has no .toml files", dir);
  Catalog c;
  uint64_t h = 1469598103934665603ull;
  bool have_world = false;
  for (auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    std::string base = fs::path(f).filename().string();
    h = catalog_fnv1a(base.data(), base.size(), h);
    h = catalog_fnv1a(text.data(), text.size(), h);
    toml::table t;
    try {
      t = toml::parse(text, f);
    } catch (const toml::parse_error& e) {
      TSFT_FAIL("{}:{}:{}: TOML parse error: {}", f, e.source().begin.line, e.source().begin.column,
                e.description());
    }
    if (base == "world.toml") {
      parse_world(t, f, c);
      have_world = true;
      continue;
    }
    schema::check_keys(t, f, "(top level)", {"theorem"});
    if (auto arr = t["theorem"].as_array()) {
      for (auto& e : *arr) {
        auto tt = e.as_table();
        TSFT_CHECK(tt, "{}: [[theorem]] entries must be tables", f);
        c.theorems.push_back(parse_theorem(*tt, f));
        TSFT_CHECK(c.theorem_index(c.theorems.back().id) == (int)c.theorems.size() - 1,
                   "{}: duplicate theorem id '{}'", f, c.theorems.back().id);
      }
    }
  }
  TSFT_CHECK(have_world, "{}: world.toml (frames, contexts, names) is missing", dir);
  TSFT_CHECK(!c.contexts.empty() && !c.distractors.empty(), "{}/world.toml: needs contexts and distractors", dir);
  for (auto& th : c.theorems)
    TSFT_CHECK(th.confusable.empty() || c.theorem_index(th.confusable) >= 0, "{}: theorem '{}': confusable '{}' unknown",
               th.file, th.id, th.confusable);
  c.hash = fmt::format("{:016x}", h);
  return c;
}

}  // namespace tsft
