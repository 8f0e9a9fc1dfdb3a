// Realization: a Recipe -> problem text, exact answer (solved again from the givens), solution steps.
#include <algorithm>
#include <type_traits>
#include <fmt/format.h>

#include "core/error.hpp"
#include "theorems/generate.hpp"

namespace tsft {
namespace {

using Dict = std::vector<std::pair<std::string, std::string>>;

// "{key}" -> value; unknown keys are catalog errors (named with `where`, a string or a callable that
// builds one only on error).
template <class Where>
std::string where_text(const Where& w) {
  if constexpr (std::is_invocable_v<const Where&>) return w();
  else return std::string(w);
}

template <class Where>
std::string fill(const std::string& tpl, const Dict& d, const Where& where) {
  std::string out;
  out.reserve(tpl.size() + 32);
  for (size_t i = 0; i < tpl.size();) {
    if (tpl[i] != '{') {
      size_t j = tpl.find('{', i);
      if (j == std::string::npos) j = tpl.size();
      out.append(tpl, i, j - i);
      i = j;
      continue;
    }
    size_t j = tpl.find('}', i);
    TSFT_CHECK(j != std::string::npos, "{}: unterminated '{{' in \"{}\"", where_text(where), tpl);
    std::string_view key(tpl.data() + i + 1, j - i - 1);
    bool found = false;
    for (auto& [k, v] : d)
      if (k == key) {
        out += v;
        found = true;
        break;
      }
    TSFT_CHECK(found, "{}: unknown placeholder {{{}}} in \"{}\"", where_text(where), key, tpl);
    i = j + 1;
  }
  return out;
}

// Capitalizes a leading word, never a leading variable ("b = 3", "x and y are positive").
std::string cap(std::string s) {
  if (s.size() > 1 && s[0] >= 'a' && s[0] <= 'z' && s[1] >= 'a' && s[1] <= 'z') s[0] = char(s[0] - 'a' + 'A');
  return s;
}
std::string sentence(std::string s) {
  s = cap(std::move(s));
  if (!s.empty() && s.back() != '.' && s.back() != '?' && s.back() != '!') s += '.';
  return s;
}

struct Clause {
  enum Kind { kSetup, kPremise, kGiven, kAsk, kDistractor } kind;
  std::string text;
};

void apply_order(std::vector<Clause>& cl, const std::string& kind) {
  if (kind.empty()) return;
  auto first_given = std::find_if(cl.begin(), cl.end(), [](auto& c) { return c.kind == Clause::kGiven; });
  auto end_given = std::find_if(cl.rbegin(), cl.rend(), [](auto& c) { return c.kind == Clause::kGiven; }).base();
  if (kind == "reverse_givens") {
    if (first_given < end_given) std::reverse(first_given, end_given);
  } else if (kind == "rotate_givens") {
    if (first_given < end_given) std::rotate(first_given, first_given + 1, end_given);
  } else if (kind == "premise_last" || kind == "setup_last") {
    auto k = kind == "premise_last" ? Clause::kPremise : Clause::kSetup;
    auto it = std::find_if(cl.begin(), cl.end(), [&](auto& c) { return c.kind == k; });
    if (it != cl.end() && it < end_given) std::rotate(it, it + 1, end_given);
  } else if (kind == "question_first") {
    auto it = std::find_if(cl.begin(), cl.end(), [](auto& c) { return c.kind == Clause::kAsk; });
    if (it != cl.end()) std::rotate(cl.begin(), it, it + 1);
  } else if (kind == "swap_first_two") {
    auto it = std::find_if(cl.begin(), cl.end(), [](auto& c) { return c.kind == Clause::kPremise || c.kind == Clause::kGiven; });
    if (it != cl.end() && it + 1 != cl.end() && (it + 1)->kind == Clause::kGiven) std::iter_swap(it, it + 1);
  } else {
    TSFT_FAIL("unknown order kind '{}' (known: reverse_givens, rotate_givens, premise_last, question_first, "
              "setup_last, swap_first_two)", kind);
  }
}

}  // namespace

Problem World::realize(const Recipe& r) const {
  Recipe copy = r;
  return realize(std::move(copy));
}

Problem World::realize(Recipe&& recipe) const {
  Problem p;
  p.recipe = std::move(recipe);
  const Recipe& r = p.recipe;
  std::vector<Clause> clauses;
  std::string prev_target_noun, cf_text;
  Exact prev_answer;
  std::vector<std::string> known, asked;
  uint64_t nkey = 1469598103934665603ull;
  const ContextSpec& ctx = cat_.contexts[r.context];
  Dict base = {{"name", r.persons.at(0)}, {"name2", r.persons.at(1)}, {"unit", r.unit}, {"item", r.item},
               {"ctx", ctx.id}};
  for (size_t pi = 0; pi < r.parts.size(); ++pi) {
    const PartRecipe& pr = r.parts[pi];
    const TheoremSpec& th = cat_.theorems[pr.th];
    const TemplateSpec& tp = th.templates.at(pr.tpl);
    const bool last = pi + 1 == r.parts.size();
    auto where = [&] { return th.file + ": theorem '" + th.id + "' template '" + tp.id + "'"; };
    Dict d = base;
    d.emplace_back("kind", th.kind_word);
    std::string fig;
    for (size_t k = 0; k < th.points.size(); ++k) {
      d.emplace_back(th.points[k], pr.letters.at(k));
      fig += pr.letters[k];
    }
    std::sort(fig.begin(), fig.end());
    d.emplace_back("fig", fig);
    // Text of every slot value the recipe holds (slot order; "" where absent).
    std::vector<std::string> vtext(th.slots.size());
    std::vector<char> vhas(th.slots.size(), 0);
    for (size_t k = 0; k < th.slots.size(); ++k) {
      auto it = pr.vals.find(th.slots[k].name);
      if (it == pr.vals.end()) continue;
      vtext[k] = exact_to_text(it->second);
      vhas[k] = 1;
      d.emplace_back(th.slots[k].name, vtext[k]);
    }
    // Solve the asked slot from the others (the stored value, if any, must come out again).
    Gen g;
    g.th = &th;
    g.cf = r.cf && last;
    for (auto& s : th.slots) g.syms[s.name] = fill(s.sym, d, [&] { return where() + " slot " + s.name; });
    g.vals = pr.vals;
    g.vals.erase(pr.target);
    kernels_[pr.th]->solve(g, pr.target);
    TSFT_CHECK(g.answered && !g.reject, "theorem '{}': solver gave no answer for '{}'", th.id, pr.target);
    auto stored = pr.vals.find(pr.target);
    TSFT_CHECK(stored == pr.vals.end() || stored->second == g.answer,
               "theorem '{}': solving '{}' back gives {} but the sampled value is {}", th.id, pr.target,
               exact_to_latex(g.answer), exact_to_latex(stored->second));
    for (auto& [k, v] : pr.vals) {  // FNV-1a of "id:slot=latex;" per value (streamed piecewise)
      std::string lx = exact_to_latex(v);
      nkey = catalog_fnv1a(th.id.data(), th.id.size(), nkey);
      nkey = catalog_fnv1a(":", 1, nkey);
      nkey = catalog_fnv1a(k.data(), k.size(), nkey);
      nkey = catalog_fnv1a("=", 1, nkey);
      nkey = catalog_fnv1a(lx.data(), lx.size(), nkey);
      nkey = catalog_fnv1a(";", 1, nkey);
    }
    auto noun = [&](const std::string& slot) { return fill(th.slot(slot).noun, d, where); };
    if (r.cf && last) {
      TSFT_CHECK(!th.cf_rule.empty(), "theorem '{}': counterfactual item without cf_rule", th.id);
      cf_text = sentence(fill(th.cf_rule, d, where));
    }
    const bool dropped_part = last && !r.drop_slot.empty();
    const bool violated = last && r.violate;
    // Clauses.
    clauses.push_back({Clause::kSetup, sentence(fill(tp.setup, d, where))});
    if (!th.premise_text.empty())
      clauses.push_back({Clause::kPremise, sentence(fill(violated ? th.violation_text : th.premise_text, d, where))});
    Step st{th.id, th.name, cf_text.empty() || !last ? th.statement : cf_text, {}, {}, {}};
    for (size_t k = 0; k < th.premises.size(); ++k) {
      std::string pm = fill(th.premises[k], d, where);
      if (violated && (int)k == th.violation_premise)
        st.cond.push_back("Cond: " + pm + ": fails, the problem states that " + fill(th.violation_text, d, where) + ".");
      else
        st.cond.push_back("Cond: " + pm + ": holds.");
    }
    Binding bind{th.id, pr.target, pr.link_slot, {}};
    bind.slots.reserve(th.slots.size());
    for (size_t si = 0; si < th.slots.size(); ++si) {
      const SlotSpec& s = th.slots[si];
      const std::string& sym = g.syms[s.name];
      const std::string& val = vtext[si];
      const bool hidden = s.name == pr.target || (dropped_part && s.name == r.drop_slot);
      TSFT_CHECK(hidden || vhas[si], "theorem '{}': slot '{}' has no value", th.id, s.name);
      bind.slots.push_back({s.name, s.role, sym, hidden ? std::string() : val, !hidden});
      if (s.name == pr.target) {
        st.map.push_back("Map: " + s.role + " = " + sym + " (asked)");
        if (last) asked.push_back(sym);
        continue;
      }
      if (dropped_part && s.name == r.drop_slot) {
        st.cond.push_back("Cond: " + noun(s.name) + " must be known: fails, it is not given.");
        st.map.push_back("Map: " + s.role + " = " + sym + " (not given)");
        continue;
      }
      if (s.name == pr.link_slot) {
        clauses.push_back({Clause::kGiven, sentence(noun(s.name) + " is equal to " + prev_target_noun)});
        st.map.push_back("Map: " + s.role + " = " + sym + " = " + val + " (from step " + std::to_string(pi) + ")");
        continue;
      }
      auto gt = tp.given.find(s.name);
      std::string clause = gt != tp.given.end() ? fill(gt->second, d, where) : noun(s.name) + " is " + val;
      clauses.push_back({Clause::kGiven, sentence(clause)});
      st.map.push_back("Map: " + s.role + " = " + sym + " = " + val);
      known.push_back(sym + " = " + val);
      p.givens.push_back({s.name, sym, val, th.id, pi});
    }
    p.bindings.push_back(std::move(bind));
    if (last) {
      std::string ask;
      if (pr.target == th.target) ask = fill(tp.ask, d, where);
      else if (auto a = tp.ask_for.find(pr.target); a != tp.ask_for.end()) ask = fill(a->second, d, where);
      else ask = "Find " + noun(pr.target) + ".";
      clauses.push_back({Clause::kAsk, sentence(ask)});
      if (dropped_part || violated) {
        p.cbd = true;
        std::string why = dropped_part ? noun(r.drop_slot) + " is not given" : fill(th.violation_text, d, where);
        st.exec = {cap(noun(pr.target)) + " cannot be computed: " + why + "."};
      } else {
        st.exec = g.exec;
      }
    } else {
      st.exec = g.exec;
    }
    if (violated) st.map.clear();  // a theorem whose premise fails binds nothing
    p.steps.push_back(std::move(st));
    prev_target_noun = noun(pr.target);
    prev_answer = g.answer;
    p.theorems.push_back(th.id);
    p.templates.push_back(tp.id);
  }
  // Order and distractor act on the whole body.
  apply_order(clauses, r.order_kind);
  if (r.distractor >= 0) {
    const DistractorSpec& ds = cat_.distractors.at(r.distractor);
    Dict dd = base;
    dd.emplace_back("n", std::to_string(r.distractor_n));
    int nbody = 0;
    for (auto& c : clauses) nbody += c.kind != Clause::kAsk;
    int pos = 1 + r.distractor_pos % std::max(1, nbody);
    clauses.insert(clauses.begin() + std::min<int>(pos, clauses.size()),
                   {Clause::kDistractor, sentence(fill(ds.text, dd, "world.toml distractor " + ds.id))});
    p.distractor_kind = ds.id;
  }
  std::string body = cf_text;  // P10: the modified rule opens the problem
  for (auto& c : clauses) body += (body.empty() ? "" : " ") + c.text;
  Dict fd = base;
  fd.emplace_back("intro", sentence(fill(cat_.intro_frames.at(r.intro), base, "world.toml intro_frames")));
  fd.emplace_back("body", body);
  p.question = fill(cat_.frames.at(r.frame), fd, "world.toml frames");
  p.answer_value = p.cbd ? kCannotBeDetermined : exact_to_latex(prev_answer);
  p.answer = p.answer_value;
  p.answer_type = p.cbd ? "text" : exact_kind(prev_answer);
  if (cfg_.format == "mc") {
    int gold = 0;
    p.options = mc_options(prev_answer, p.cbd, r.option_seed, &gold);
    std::string opts = "Options:";
    for (size_t k = 0; k < p.options.size(); ++k) opts += fmt::format(" ({}) {}", char('A' + k), p.options[k]);
    p.question += "\n" + opts;
    p.answer = std::string(1, char('A' + gold));
    p.answer_type = "choice";
  }
  std::string restate = "Known: ";
  for (size_t k = 0; k < known.size(); ++k) restate += (k ? ", " : "") + known[k];
  p.restatement = restate + ". Asked: " + (asked.empty() ? "?" : asked[0]) + ".";
  p.context = ctx.id;
  p.cue_planted = r.planted;
  p.order_kind = r.order_kind;
  std::string fam;
  for (auto& t : p.theorems) fam += (fam.empty() ? "" : "+") + t;
  p.family = fam;
  p.numbers_key = nkey;
  return p;
}

std::vector<std::string> mc_options(const Exact& gold, bool cbd, uint64_t seed, int* gold_pos) {
  // Distractors are plausible slips of the same kind as the answer: x2, /2, x3/2, +-1 on rationals.
  std::vector<Exact> cands = {gold * Exact(2), gold / Exact(2), gold * Exact::frac(3, 2), gold * Exact::frac(3, 4)};
  if (gold.is_rational()) cands.insert(cands.begin(), {gold + Exact(1), gold - Exact(1)});
  if (gold.is_zero()) cands = {Exact(1), Exact(-1), Exact(2), Exact(3)};
  std::vector<std::string> opts = {cbd ? kCannotBeDetermined : exact_to_latex(gold)};
  if (cbd) opts.push_back(exact_to_latex(gold));
  for (auto& c : cands) {
    std::string s = exact_to_latex(c);
    if (opts.size() < 4 && std::find(opts.begin(), opts.end(), s) == opts.end()) opts.push_back(s);
  }
  Rng rng(seed);
  for (size_t k = opts.size() - 1; k > 0; --k) std::swap(opts[k], opts[rng.below(k + 1)]);
  std::string g = cbd ? kCannotBeDetermined : exact_to_latex(gold);
  *gold_pos = int(std::find(opts.begin(), opts.end(), g) - opts.begin());
  return opts;
}

}  // namespace tsft
