// The problem record as JSON: problem_to_json (an nlohmann tree, for callers that inspect it) and
// problem_write_json (the same bytes as problem_to_json(p).dump(), written directly; about ten times
// cheaper, which matters at a million problems per run). Key order below is nlohmann's: objects are
// std::maps, so keys come out sorted bytewise; strings are escaped as its serializer does with
// ensure_ascii = false (", \, \b \f \n \r \t by name, other bytes < 0x20 as \u00xx, the rest verbatim).
#include <fmt/format.h>

#include <algorithm>

#include "theorems/generate.hpp"

namespace tsft {

nlohmann::json problem_to_json(const Problem& p) {
  nlohmann::json steps = nlohmann::json::array();
  for (auto& s : p.steps)
    steps.push_back({{"theorem", s.theorem},
                     {"name", s.name},
                     {"statement", s.statement},
                     {"cond", s.cond},
                     {"map", s.map},
                     {"exec", s.exec}});
  nlohmann::json givens = nlohmann::json::array(), bindings = nlohmann::json::array();
  for (auto& g : p.givens)
    givens.push_back({{"slot", g.slot},
                      {"object", g.object},
                      {"value", g.value},
                      {"part", g.part},
                      {"theorem", g.theorem}});
  for (auto& b : p.bindings) {
    nlohmann::json slots = nlohmann::json::object();
    for (auto& s : b.slots)
      slots[s.name] = {{"role", s.role},
                       {"object", s.object},
                       {"value", s.has_value ? nlohmann::json(s.value) : nlohmann::json(nullptr)}};
    bindings.push_back({{"theorem", b.theorem}, {"target", b.target}, {"link", b.link}, {"slots", slots}});
  }
  nlohmann::json j = {
      {"id", p.id},
      {"split", p.split},
      {"theorems", p.theorems},
      {"family", p.family},
      {"parent_id", p.parent_id.empty() ? nlohmann::json(nullptr) : nlohmann::json(p.parent_id)},
      {"perturbation", p.perturbation},
      {"question", p.question},
      {"answer", p.answer},
      {"answer_type", p.answer_type},
      {"givens", givens},
      {"bindings", bindings},
      {"cue", {{"context", p.context}, {"planted", p.cue_planted}}},
      {"template", p.templates},
      {"order_kind", p.order_kind},
      {"distractor_kind", p.distractor_kind},
      {"values_key", fmt::format("{:016x}", p.numbers_key)},
      {"solution", {{"steps", steps}, {"restatement", p.restatement}}}};
  if (!p.options.empty()) {
    j["options"] = p.options;
    j["answer_value"] = p.answer_value;
  }
  if (p.values_seen_in_train >= 0) j["values_seen_in_train"] = p.values_seen_in_train == 1;
  return j;
}

namespace {

struct Writer {
  std::string& o;
  void str(std::string_view s) {
    static const char* hex = "0123456789abcdef";
    o += '"';
    size_t run = 0;  // start of the pending run of bytes that need no escape
    for (size_t i = 0; i < s.size(); ++i) {
      unsigned char c = (unsigned char)s[i];
      if (c >= 0x20 && c != '"' && c != '\\') continue;
      o.append(s.data() + run, i - run);
      run = i + 1;
      switch (c) {
        case '"':
          o += "\\\"";
          break;
        case '\\':
          o += "\\\\";
          break;
        case '\b':
          o += "\\b";
          break;
        case '\f':
          o += "\\f";
          break;
        case '\n':
          o += "\\n";
          break;
        case '\r':
          o += "\\r";
          break;
        case '\t':
          o += "\\t";
          break;
        default:
          o += "\\u00";
          o += hex[c >> 4];
          o += hex[c & 15];
      }
    }
    o.append(s.data() + run, s.size() - run);
    o += '"';
  }
  // "key": (key is a literal that needs no escaping); first says whether a comma precedes it.
  void key(const char* k, bool first = false) {
    if (!first) o += ',';
    o += '"';
    o += k;
    o += "\":";
  }
  void strs(const std::vector<std::string>& v) {
    o += '[';
    for (size_t i = 0; i < v.size(); ++i) {
      if (i) o += ',';
      str(v[i]);
    }
    o += ']';
  }
};

}  // namespace

void problem_write_json(const Problem& p, std::string& out) {
  Writer w{out};
  out += '{';
  w.key("answer", true);
  w.str(p.answer);
  w.key("answer_type");
  w.str(p.answer_type);
  if (!p.options.empty()) {
    w.key("answer_value");
    w.str(p.answer_value);
  }
  w.key("bindings");
  out += '[';
  std::vector<const SlotBinding*> sorted;
  for (size_t bi = 0; bi < p.bindings.size(); ++bi) {
    const Binding& b = p.bindings[bi];
    if (bi) out += ',';
    out += '{';
    w.key("link", true);
    w.str(b.link);
    w.key("slots");
    sorted.clear();
    for (auto& s : b.slots) sorted.push_back(&s);
    std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* c) { return a->name < c->name; });
    out += '{';
    for (size_t k = 0; k < sorted.size(); ++k) {
      const SlotBinding& s = *sorted[k];
      if (k) out += ',';
      w.str(s.name);
      out += ":{\"object\":";
      w.str(s.object);
      out += ",\"role\":";
      w.str(s.role);
      out += ",\"value\":";
      if (s.has_value)
        w.str(s.value);
      else
        out += "null";
      out += '}';
    }
    out += '}';
    w.key("target");
    w.str(b.target);
    w.key("theorem");
    w.str(b.theorem);
    out += '}';
  }
  out += ']';
  w.key("cue");
  out += "{\"context\":";
  w.str(p.context);
  out += p.cue_planted ? ",\"planted\":true}" : ",\"planted\":false}";
  w.key("distractor_kind");
  w.str(p.distractor_kind);
  w.key("family");
  w.str(p.family);
  w.key("givens");
  out += '[';
  for (size_t k = 0; k < p.givens.size(); ++k) {
    const Given& g = p.givens[k];
    if (k) out += ',';
    out += "{\"object\":";
    w.str(g.object);
    out += ",\"part\":";
    out += std::to_string(g.part);
    out += ",\"slot\":";
    w.str(g.slot);
    out += ",\"theorem\":";
    w.str(g.theorem);
    out += ",\"value\":";
    w.str(g.value);
    out += '}';
  }
  out += ']';
  w.key("id");
  w.str(p.id);
  if (!p.options.empty()) {
    w.key("options");
    w.strs(p.options);
  }
  w.key("order_kind");
  w.str(p.order_kind);
  w.key("parent_id");
  if (p.parent_id.empty())
    out += "null";
  else
    w.str(p.parent_id);
  w.key("perturbation");
  w.str(p.perturbation);
  w.key("question");
  w.str(p.question);
  w.key("solution");
  out += "{\"restatement\":";
  w.str(p.restatement);
  out += ",\"steps\":[";
  for (size_t k = 0; k < p.steps.size(); ++k) {
    const Step& s = p.steps[k];
    if (k) out += ',';
    out += "{\"cond\":";
    w.strs(s.cond);
    out += ",\"exec\":";
    w.strs(s.exec);
    out += ",\"map\":";
    w.strs(s.map);
    out += ",\"name\":";
    w.str(s.name);
    out += ",\"statement\":";
    w.str(s.statement);
    out += ",\"theorem\":";
    w.str(s.theorem);
    out += '}';
  }
  out += "]}";
  w.key("split");
  w.str(p.split);
  w.key("template");
  w.strs(p.templates);
  w.key("theorems");
  w.strs(p.theorems);
  w.key("values_key");
  char buf[24];
  auto end = fmt::format_to(buf, "{:016x}", p.numbers_key);
  out += '"';
  out.append(buf, end);
  out += '"';
  if (p.values_seen_in_train >= 0)
    out += p.values_seen_in_train ? ",\"values_seen_in_train\":true" : ",\"values_seen_in_train\":false";
  out += '}';
}

}  // namespace tsft
