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

// "bindings": per part, link, slots (by name: object, role, value or null), target, theorem.
void write_bindings(Writer& w, const std::vector<Binding>& bindings) {
  w.o += '[';
  std::vector<const SlotBinding*> sorted;
  for (size_t bi = 0; bi < bindings.size(); ++bi) {
    const Binding& b = bindings[bi];
    if (bi) w.o += ',';
    w.o += '{';
    w.key("link", true);
    w.str(b.link);
    w.key("slots");
    sorted.clear();
    for (auto& s : b.slots) sorted.push_back(&s);
    std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* c) { return a->name < c->name; });
    w.o += '{';
    for (size_t k = 0; k < sorted.size(); ++k) {
      const SlotBinding& s = *sorted[k];
      if (k) w.o += ',';
      w.str(s.name);
      w.o += ":{\"object\":";
      w.str(s.object);
      w.o += ",\"role\":";
      w.str(s.role);
      w.o += ",\"value\":";
      if (s.has_value)
        w.str(s.value);
      else
        w.o += "null";
      w.o += '}';
    }
    w.o += '}';
    w.key("target");
    w.str(b.target);
    w.key("theorem");
    w.str(b.theorem);
    w.o += '}';
  }
  w.o += ']';
}

// "givens": object, part, slot, theorem, value of each given.
void write_givens(Writer& w, const std::vector<Given>& givens) {
  w.o += '[';
  for (size_t k = 0; k < givens.size(); ++k) {
    const Given& g = givens[k];
    if (k) w.o += ',';
    w.o += "{\"object\":";
    w.str(g.object);
    w.o += ",\"part\":";
    w.o += std::to_string(g.part);
    w.o += ",\"slot\":";
    w.str(g.slot);
    w.o += ",\"theorem\":";
    w.str(g.theorem);
    w.o += ",\"value\":";
    w.str(g.value);
    w.o += '}';
  }
  w.o += ']';
}

// "solution": the restatement and the steps (cond, exec, map, name, statement, theorem).
void write_solution(Writer& w, const Problem& p) {
  w.o += "{\"restatement\":";
  w.str(p.restatement);
  w.o += ",\"steps\":[";
  for (size_t k = 0; k < p.steps.size(); ++k) {
    const Step& s = p.steps[k];
    if (k) w.o += ',';
    w.o += "{\"cond\":";
    w.strs(s.cond);
    w.o += ",\"exec\":";
    w.strs(s.exec);
    w.o += ",\"map\":";
    w.strs(s.map);
    w.o += ",\"name\":";
    w.str(s.name);
    w.o += ",\"statement\":";
    w.str(s.statement);
    w.o += ",\"theorem\":";
    w.str(s.theorem);
    w.o += '}';
  }
  w.o += "]}";
}

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
  write_bindings(w, p.bindings);
  w.key("cue");
  out += "{\"context\":";
  w.str(p.context);
  out += p.cue_planted ? ",\"planted\":true}" : ",\"planted\":false}";
  w.key("distractor_kind");
  w.str(p.distractor_kind);
  w.key("family");
  w.str(p.family);
  w.key("givens");
  write_givens(w, p.givens);
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
  write_solution(w, p);
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
