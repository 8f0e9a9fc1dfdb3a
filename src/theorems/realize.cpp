// Realization: a Recipe -> problem text, exact answer (solved again from the givens), solution steps.
#include <fmt/format.h>

#include <algorithm>
#include <type_traits>

#include "core/error.hpp"
#include "theorems/generate.hpp"

namespace tsft {
namespace {

using Dict = std::vector<std::pair<std::string, std::string>>;

// "{key}" -> value; unknown keys are catalog errors (named with `where`, a string or a callable that
// builds one only on error).
template <class Where>
std::string where_text(const Where& w) {
  if constexpr (std::is_invocable_v<const Where&>)
    return w();
  else
    return std::string(w);
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
  auto end_given =
      std::find_if(cl.rbegin(), cl.rend(), [](auto& c) { return c.kind == Clause::kGiven; }).base();
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
    auto it = std::find_if(cl.begin(), cl.end(),
                           [](auto& c) { return c.kind == Clause::kPremise || c.kind == Clause::kGiven; });
    if (it != cl.end() && it + 1 != cl.end() && (it + 1)->kind == Clause::kGiven) std::iter_swap(it, it + 1);
  } else {
    TSFT_FAIL(
        "unknown order kind '{}' (known: reverse_givens, rotate_givens, premise_last, question_first, "
        "setup_last, swap_first_two)",
        kind);
  }
}

// What the parts of one problem build together, in part order: the body's clauses, the givens and the
// asked symbol of the restatement, the previous part's target (a linked slot names it) and answer, the
// counterfactual rule's text (P10), and the numbers key (FNV-1a over every value).
struct Realizing {
  Dict base;  // persons, unit, item, context: every template's placeholders
  std::vector<Clause> clauses;
  std::string prev_target_noun, cf_text;
  Exact prev_answer;
  std::vector<std::string> known, asked;
  uint64_t nkey = 1469598103934665603ull;
};

// One part of a recipe being realized: its theorem and template, its placeholders (the theorem's kind
// word, its point letters and "fig" -- their sorted concatenation -- and the text of every slot value
// it holds), and the solver's run.
struct Part {
  const PartRecipe& pr;
  const TheoremSpec& th;
  const TemplateSpec& tp;
  size_t index;
  bool last, dropped, violated;  // the last part; its slot dropped (cbd); its premise violated (cbd)
  Dict d;
  std::vector<std::string> vtext;  // slot order; "" where absent
  std::vector<char> vhas;
  Gen g;
  std::string where() const { return th.file + ": theorem '" + th.id + "' template '" + tp.id + "'"; }
  std::string fill(const std::string& tpl) const {
    return ::tsft::fill(tpl, d, [&] { return where(); });
  }
  std::string noun(const std::string& slot) const { return fill(th.slot(slot).noun); }
};

void part_dict(Part& pt, const Dict& base) {
  const TheoremSpec& th = pt.th;
  pt.d = base;
  pt.d.emplace_back("kind", th.kind_word);
  std::string fig;
  for (size_t k = 0; k < th.points.size(); ++k) {
    pt.d.emplace_back(th.points[k], pt.pr.letters.at(k));
    fig += pt.pr.letters[k];
  }
  std::sort(fig.begin(), fig.end());
  pt.d.emplace_back("fig", fig);
  pt.vtext.assign(th.slots.size(), "");
  pt.vhas.assign(th.slots.size(), 0);
  for (size_t k = 0; k < th.slots.size(); ++k) {
    auto it = pt.pr.vals.find(th.slots[k].name);
    if (it == pt.pr.vals.end()) continue;
    pt.vtext[k] = exact_to_text(it->second);
    pt.vhas[k] = 1;
    pt.d.emplace_back(th.slots[k].name, pt.vtext[k]);
  }
}

// Solves the asked slot from the others (the stored value, if any, must come out again) and folds the
// part's values into the numbers key: FNV-1a of "id:slot=latex;" per value, streamed piecewise.
void solve_part(Part& pt, const Kernel& kernel, bool cf, uint64_t* nkey) {
  const TheoremSpec& th = pt.th;
  const PartRecipe& pr = pt.pr;
  Gen& g = pt.g;
  g.th = &th;
  g.cf = cf;
  for (auto& s : th.slots) g.syms[s.name] = fill(s.sym, pt.d, [&] { return pt.where() + " slot " + s.name; });
  g.vals = pr.vals;
  g.vals.erase(pr.target);
  kernel.solve(g, pr.target);
  TSFT_CHECK(g.answered && !g.reject, "theorem '{}': solver gave no answer for '{}'", th.id, pr.target);
  auto stored = pr.vals.find(pr.target);
  TSFT_CHECK(stored == pr.vals.end() || stored->second == g.answer,
             "theorem '{}': solving '{}' back gives {} but the sampled value is {}", th.id, pr.target,
             exact_to_latex(g.answer), exact_to_latex(stored->second));
  for (auto& [k, v] : pr.vals) {
    std::string lx = exact_to_latex(v);
    *nkey = catalog_fnv1a(th.id.data(), th.id.size(), *nkey);
    *nkey = catalog_fnv1a(":", 1, *nkey);
    *nkey = catalog_fnv1a(k.data(), k.size(), *nkey);
    *nkey = catalog_fnv1a("=", 1, *nkey);
    *nkey = catalog_fnv1a(lx.data(), lx.size(), *nkey);
    *nkey = catalog_fnv1a(";", 1, *nkey);
  }
}

// The step's premise conditions: each holds, or (a violated part) the violated one fails.
void part_conditions(const Part& pt, Step& st) {
  const TheoremSpec& th = pt.th;
  for (size_t k = 0; k < th.premises.size(); ++k) {
    std::string pm = pt.fill(th.premises[k]);
    if (pt.violated && (int)k == th.violation_premise)
      st.cond.push_back("Cond: " + pm + ": fails, the problem states that " + pt.fill(th.violation_text) +
                        ".");
    else
      st.cond.push_back("Cond: " + pm + ": holds.");
  }
}

// Every slot of the part: its binding, its line in the step's map, and for a given slot its clause, its
// known value and its Given; the asked slot, a dropped slot and a linked slot (the previous part's
// target) are bound without a value.
Binding bind_part(Realizing& z, const Part& pt, const Recipe& r, Problem& p, Step& st) {
  const TheoremSpec& th = pt.th;
  const PartRecipe& pr = pt.pr;
  Binding bind{th.id, pr.target, pr.link_slot, {}};
  bind.slots.reserve(th.slots.size());
  for (size_t si = 0; si < th.slots.size(); ++si) {
    const SlotSpec& s = th.slots[si];
    const std::string& sym = pt.g.syms.at(s.name);
    const std::string& val = pt.vtext[si];
    const bool hidden = s.name == pr.target || (pt.dropped && s.name == r.drop_slot);
    TSFT_CHECK(hidden || pt.vhas[si], "theorem '{}': slot '{}' has no value", th.id, s.name);
    bind.slots.push_back({s.name, s.role, sym, hidden ? std::string() : val, !hidden});
    if (s.name == pr.target) {
      st.map.push_back("Map: " + s.role + " = " + sym + " (asked)");
      if (pt.last) z.asked.push_back(sym);
      continue;
    }
    if (pt.dropped && s.name == r.drop_slot) {
      st.cond.push_back("Cond: " + pt.noun(s.name) + " must be known: fails, it is not given.");
      st.map.push_back("Map: " + s.role + " = " + sym + " (not given)");
      continue;
    }
    if (s.name == pr.link_slot) {
      z.clauses.push_back({Clause::kGiven, sentence(pt.noun(s.name) + " is equal to " + z.prev_target_noun)});
      st.map.push_back("Map: " + s.role + " = " + sym + " = " + val + " (from step " +
                       std::to_string(pt.index) + ")");
      continue;
    }
    auto gt = pt.tp.given.find(s.name);
    std::string clause = gt != pt.tp.given.end() ? pt.fill(gt->second) : pt.noun(s.name) + " is " + val;
    z.clauses.push_back({Clause::kGiven, sentence(clause)});
    st.map.push_back("Map: " + s.role + " = " + sym + " = " + val);
    z.known.push_back(sym + " = " + val);
    p.givens.push_back({s.name, sym, val, th.id, pt.index});
  }
  return bind;
}

// The last part's question clause and its step's execution: the solver's lines, or why the asked value
// cannot be computed (a dropped slot or a violated premise).
void part_ask(Realizing& z, const Part& pt, const Recipe& r, Problem& p, Step& st) {
  const TheoremSpec& th = pt.th;
  const PartRecipe& pr = pt.pr;
  std::string ask;
  if (pr.target == th.target)
    ask = pt.fill(pt.tp.ask);
  else if (auto a = pt.tp.ask_for.find(pr.target); a != pt.tp.ask_for.end())
    ask = pt.fill(a->second);
  else
    ask = "Find " + pt.noun(pr.target) + ".";
  z.clauses.push_back({Clause::kAsk, sentence(ask)});
  if (!pt.dropped && !pt.violated) {
    st.exec = pt.g.exec;
    return;
  }
  p.cbd = true;
  std::string why = pt.dropped ? pt.noun(r.drop_slot) + " is not given" : pt.fill(th.violation_text);
  st.exec = {cap(pt.noun(pr.target)) + " cannot be computed: " + why + "."};
}

// The distractor sentence, inserted after a body clause chosen by the recipe.
void insert_distractor(Realizing& z, const Recipe& r, const Catalog& cat, Problem& p) {
  const DistractorSpec& ds = cat.distractors.at(r.distractor);
  Dict dd = z.base;
  dd.emplace_back("n", std::to_string(r.distractor_n));
  int nbody = 0;
  for (auto& c : z.clauses) nbody += c.kind != Clause::kAsk;
  int pos = 1 + r.distractor_pos % std::max(1, nbody);
  z.clauses.insert(z.clauses.begin() + std::min<int>(pos, z.clauses.size()),
                   {Clause::kDistractor, sentence(fill(ds.text, dd, "world.toml distractor " + ds.id))});
  p.distractor_kind = ds.id;
}

// The multiple-choice form: options appended to the question, the gold letter as the answer.
void make_choice(Problem& p, const Exact& answer, uint64_t option_seed) {
  int gold = 0;
  p.options = mc_options(answer, p.cbd, option_seed, &gold);
  std::string opts = "Options:";
  for (size_t k = 0; k < p.options.size(); ++k) opts += fmt::format(" ({}) {}", char('A' + k), p.options[k]);
  p.question += "\n" + opts;
  p.answer = std::string(1, char('A' + gold));
  p.answer_type = "choice";
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
  const ContextSpec& ctx = cat_.contexts[r.context];
  Realizing z;
  z.base = {{"name", r.persons.at(0)},
            {"name2", r.persons.at(1)},
            {"unit", r.unit},
            {"item", r.item},
            {"ctx", ctx.id}};
  for (size_t pi = 0; pi < r.parts.size(); ++pi) {
    const PartRecipe& pr = r.parts[pi];
    const TheoremSpec& th = cat_.theorems[pr.th];
    const bool last = pi + 1 == r.parts.size();
    Part pt{
        pr, th, th.templates.at(pr.tpl), pi, last, last && !r.drop_slot.empty(), last && r.violate, {}, {},
        {}, {}};
    part_dict(pt, z.base);
    solve_part(pt, *kernels_[pr.th], r.cf && last, &z.nkey);
    if (r.cf && last) {
      TSFT_CHECK(!th.cf_rule.empty(), "theorem '{}': counterfactual item without cf_rule", th.id);
      z.cf_text = sentence(pt.fill(th.cf_rule));
    }
    z.clauses.push_back({Clause::kSetup, sentence(pt.fill(pt.tp.setup))});
    if (!th.premise_text.empty())
      z.clauses.push_back(
          {Clause::kPremise, sentence(pt.fill(pt.violated ? th.violation_text : th.premise_text))});
    Step st{th.id, th.name, z.cf_text.empty() || !last ? th.statement : z.cf_text, {}, {}, {}};
    part_conditions(pt, st);
    p.bindings.push_back(bind_part(z, pt, r, p, st));
    if (last)
      part_ask(z, pt, r, p, st);
    else
      st.exec = pt.g.exec;
    if (pt.violated) st.map.clear();  // a theorem whose premise fails binds nothing
    p.steps.push_back(std::move(st));
    z.prev_target_noun = pt.noun(pr.target);
    z.prev_answer = pt.g.answer;
    p.theorems.push_back(th.id);
    p.templates.push_back(pt.tp.id);
  }
  // Order and distractor act on the whole body.
  apply_order(z.clauses, r.order_kind);
  if (r.distractor >= 0) insert_distractor(z, r, cat_, p);
  std::string body = z.cf_text;  // P10: the modified rule opens the problem
  for (auto& c : z.clauses) body += (body.empty() ? "" : " ") + c.text;
  Dict fd = z.base;
  fd.emplace_back("intro", sentence(fill(cat_.intro_frames.at(r.intro), z.base, "world.toml intro_frames")));
  fd.emplace_back("body", body);
  p.question = fill(cat_.frames.at(r.frame), fd, "world.toml frames");
  p.answer_value = p.cbd ? kCannotBeDetermined : exact_to_latex(z.prev_answer);
  p.answer = p.answer_value;
  p.answer_type = p.cbd ? "text" : exact_kind(z.prev_answer);
  if (cfg_.format == "mc") make_choice(p, z.prev_answer, r.option_seed);
  std::string restate = "Known: ";
  for (size_t k = 0; k < z.known.size(); ++k) restate += (k ? ", " : "") + z.known[k];
  p.restatement = restate + ". Asked: " + (z.asked.empty() ? "?" : z.asked[0]) + ".";
  p.context = ctx.id;
  p.cue_planted = r.planted;
  p.order_kind = r.order_kind;
  std::string fam;
  for (auto& t : p.theorems) fam += (fam.empty() ? "" : "+") + t;
  p.family = fam;
  p.numbers_key = z.nkey;
  return p;
}

std::vector<std::string> mc_options(const Exact& gold, bool cbd, uint64_t seed, int* gold_pos) {
  // Distractors are plausible slips of the same kind as the answer: x2, /2, x3/2, +-1 on rationals.
  std::vector<Exact> cands = {gold * Exact(2), gold / Exact(2), gold * Exact::frac(3, 2),
                              gold * Exact::frac(3, 4)};
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
