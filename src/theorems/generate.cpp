// World setup (active theorems, home contexts, chain pairs), item drawing per split and probe variants.
#include "theorems/generate.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/error.hpp"

namespace tsft {

namespace {
uint64_t str_hash(const std::string& s) {
  return catalog_fnv1a(s.data(), s.size());
}

// A given can be removed (P9, unanswerable items) only if no other text of the item shows its value.
bool slot_droppable(const TheoremSpec& th, const TemplateSpec& tp, const std::string& target,
                    const std::string& slot) {
  const std::string key = "{" + slot + "}";
  auto in = [&](const std::string& s) { return s.find(key) != std::string::npos; };
  if (in(tp.setup) || in(th.premise_text) || in(th.violation_text)) return false;
  if (target == th.target ? in(tp.ask) : (tp.ask_for.count(target) && in(tp.ask_for.at(target))))
    return false;
  for (auto& [k, v] : tp.given)
    if (k != slot && in(v)) return false;
  return true;
}
}  // namespace

World::World(Catalog cat, GenConfig cfg) : cat_(std::move(cat)), cfg_(std::move(cfg)) {
  // Config range overrides are applied to the catalog copy the kernels read.
  for (auto& [tid, slots] : cfg_.ranges) {
    int ti = cat_.theorem_index(tid);
    TSFT_CHECK(ti >= 0, "config [gen.ranges.{}]: unknown theorem", tid);
    for (auto& [sname, r] : slots) {
      auto& th = cat_.theorems[ti];
      TSFT_CHECK(th.has_slot(sname), "config [gen.ranges.{}]: unknown slot '{}'", tid, sname);
      for (auto& s : th.slots)
        if (s.name == sname) s.lo = r[0], s.hi = r[1], s.step = r[2];
    }
  }
  kernels_.resize(cat_.theorems.size(), nullptr);
  for (size_t i = 0; i < cat_.theorems.size(); ++i) {
    kernels_[i] = kernel_find(cat_.theorems[i].id);
    TSFT_CHECK(kernels_[i], "{}: theorem '{}' has no C++ kernel (known: {})", cat_.theorems[i].file,
               cat_.theorems[i].id, fmt::join(kernel_ids(), ", "));
    bool on =
        cfg_.theorems.empty() || std::count(cfg_.theorems.begin(), cfg_.theorems.end(), cat_.theorems[i].id);
    if (on) active_.push_back((int)i);
  }
  for (auto& id : cfg_.theorems)
    TSFT_CHECK(cat_.theorem_index(id) >= 0, "config gen.theorems: unknown theorem '{}'", id);
  TSFT_CHECK(!active_.empty(), "no theorems selected");
  // Home context of each theorem: a seeded permutation of the contexts (one context per theorem when
  // there are enough; otherwise contexts are shared and the cue is weaker).
  std::vector<int> perm(cat_.contexts.size());
  for (size_t i = 0; i < perm.size(); ++i) perm[i] = (int)i;
  Rng rng(rng_mix(cfg_.seed, 0x686f6d65));
  for (size_t k = perm.size() - 1; k > 0; --k) std::swap(perm[k], perm[rng.below(k + 1)]);
  home_.resize(cat_.theorems.size());
  for (size_t i = 0; i < home_.size(); ++i) home_[i] = perm[i % perm.size()];
  for (size_t i = 0; i < cat_.distractors.size(); ++i) {
    bool held = std::count(cfg_.distractor_kinds_heldout.begin(), cfg_.distractor_kinds_heldout.end(),
                           cat_.distractors[i].id);
    (held ? distractors_heldout_ : distractors_train_).push_back((int)i);
  }
  for (auto& id : cfg_.distractor_kinds_heldout)
    TSFT_CHECK(cat_.distractor_index(id) >= 0, "config gen.distractor_kinds_heldout: unknown kind '{}'", id);
  TSFT_CHECK(!distractors_train_.empty(), "config: every distractor kind is held out; none left for train");
  for (auto& k : cfg_.order_kinds_train)
    TSFT_CHECK(!std::count(cfg_.order_kinds_heldout.begin(), cfg_.order_kinds_heldout.end(), k),
               "config: order kind '{}' is both a train and a held-out kind", k);
  build_pairs();
}

void World::build_pairs() {
  // A chain A -> B feeds A's answer into a slot of B of the same kind. A pair is kept if a test draw
  // succeeds; a seeded hash reserves heldout_pair_fraction of the pairs for the compositional split.
  for (int a : active_) {
    const auto& ta = cat_.theorems[a];
    const std::string& kind = ta.slot(ta.target).kind;
    for (int b : active_) {
      if (a == b) continue;
      const auto& tb = cat_.theorems[b];
      bool fits = false;
      for (auto& s : tb.slots) fits |= s.name != tb.target && s.kind == kind;
      if (!fits) continue;
      Rng rng(rng_mix(cfg_.seed, (uint64_t)a * 1000 + b));
      bool ok = false;
      for (int t = 0; t < 8 && !ok; ++t) {
        PartRecipe pa = draw_part(a, rng, 0, ta.target);
        if (pa.th < 0) continue;
        for (auto& s : tb.slots) {
          if (s.name == tb.target || s.kind != kind) continue;
          std::map<std::string, Exact> out;
          if (sample_values(b, rng, 0, {{s.name, pa.vals.at(ta.target)}}, tb.target, false, out)) ok = true;
        }
      }
      if (!ok) continue;
      double u = (rng_mix(cfg_.seed ^ 0x70616972, (uint64_t)a * 1000 + b) >> 11) * 0x1.0p-53;
      (u < cfg_.heldout_pair_fraction ? heldout_pairs_ : train_pairs_).emplace_back(a, b);
    }
  }
}

bool World::sample_values(int th, Rng& rng, int mode, const std::map<std::string, Exact>& fixed,
                          const std::string& target, bool cf, std::map<std::string, Exact>& out) const {
  const TheoremSpec& spec = cat_.theorems[th];
  for (int attempt = 0; attempt < 200; ++attempt) {
    Gen g;
    g.th = &spec;
    g.rng = &rng;
    g.scale = mode == 2 ? cfg_.magnitude_scale : cfg_.range_scale;
    g.fixed = fixed;
    g.cf = cf;
    g.magnitude = mode == 2;
    // A draw whose exact arithmetic leaves the representable set (e.g. adding a radical to an integer
    // when a chain feeds a radical into a rational-only slot) is rejected like any unusable draw.
    try {
      if (!kernels_[th]->sample(g) || g.reject) continue;
    } catch (const Error&) {
      continue;
    }
    for (auto it = g.vals.begin(); it != g.vals.end();)
      it = spec.has_slot(it->first) ? std::next(it) : g.vals.erase(it);
    bool bad = false;
    for (auto& [k, v] : fixed) bad |= !g.vals.count(k) || g.vals[k] != v;
    if (bad) continue;
    try {
      if (!g.vals.count(spec.target)) {
        Gen h = g;
        h.exec.clear();
        kernels_[th]->solve(h, spec.target);
        if (!h.answered || h.reject) continue;
        g.vals[spec.target] = h.answer;
      }
      if (g.vals.size() != spec.slots.size()) continue;
      if (target != spec.target) {  // the inverse problem must be solvable back to the same value
        Gen h = g;
        h.vals.erase(target);
        kernels_[th]->solve(h, target);
        if (!h.answered || h.reject || h.answer != g.vals[target]) continue;
      }
    } catch (const Error&) {
      continue;
    }
    // Keep every value small enough for a few-million-parameter model (chains can compound values).
    bool huge = false;
    for (auto& [k, v] : g.vals)
      huge |= std::fabs(v.to_double()) > 1e6 || v.coef().get_den() > 1000000 || v.rad() > 1000000;
    if (huge) continue;
    uint64_t key = str_hash(spec.id);
    bool magnified = false;
    for (auto& s : spec.slots) {
      const Exact& v = g.vals[s.name];
      std::string t = exact_to_latex(v);
      key = catalog_fnv1a(t.data(), t.size(), key * 31);
      if (!fixed.count(s.name) && s.hi > 0)
        magnified |= (s.scale && v > Exact(s.hi)) || (s.kind == "angle" && !s.scale && !v.is_integer());
    }
    bool heldout = fixed.empty() && heldout_combo(key);
    if (mode == 0 && heldout) continue;
    if (mode == 1 && !heldout && fixed.empty()) continue;  // a chain's second part follows its first
    if (mode == 2 && !magnified) continue;
    out = std::move(g.vals);
    return true;
  }
  return false;
}

bool World::heldout_combo(uint64_t key) const {
  return rng_mix(key, cfg_.seed) % cfg_.heldout_combo_mod == 0;
}

PartRecipe World::draw_part(int th, Rng& rng, int mode, const std::string& target) const {
  PartRecipe p;
  if (!sample_values(th, rng, mode, {}, target, false, p.vals)) return p;
  p.th = th;
  p.target = target;
  p.tpl = (int)rng.below(cat_.theorems[th].templates.size());
  return p;
}

void World::draw_names(Recipe& r, Rng& rng, bool heldout) const {
  const NamePools& pool = heldout ? cat_.heldout : cat_.train;
  size_t a = rng.below(pool.persons.size()), b = rng.below(pool.persons.size() - 1);
  r.persons = {pool.persons[a], pool.persons[b >= a ? b + 1 : b]};
  r.unit = pool.units_length[rng.below(pool.units_length.size())];
  r.item = pool.items[rng.below(pool.items.size())];
  std::vector<std::string> letters = pool.letters;
  size_t used = 0;
  for (auto& part : r.parts) {
    size_t n = cat_.theorems[part.th].points.size();
    TSFT_CHECK(used + n <= letters.size(), "world.toml: not enough letters for {} points", used + n);
    for (size_t k = used; k < used + n; ++k)
      std::swap(letters[k], letters[k + rng.below(letters.size() - k)]);
    std::vector<std::string> mine(letters.begin() + used, letters.begin() + used + n);
    std::sort(mine.begin(), mine.end());  // roles take letters in alphabetical order (P11 permutes)
    part.letters = mine;
    used += n;
  }
}

// The second part of a chain a -> b: a slot of b of the kind of a's target (drawn) takes a's answer, b's
// other values are sampled around it, b's target is asked in a drawn template. False when no values fit.
bool World::chain_part(int a, int b, const Exact& a_answer, Rng& rng, PartRecipe& pb) const {
  const auto& ta = cat_.theorems[a];
  const auto& tb = cat_.theorems[b];
  std::vector<std::string> links;
  for (auto& s : tb.slots)
    if (s.name != tb.target && s.kind == ta.slot(ta.target).kind) links.push_back(s.name);
  pb.link_slot = links[rng.below(links.size())];
  if (!sample_values(b, rng, 0, {{pb.link_slot, a_answer}}, tb.target, false, pb.vals)) return false;
  pb.th = b;
  pb.target = tb.target;
  pb.tpl = (int)rng.below(tb.templates.size());
  return true;
}

Recipe World::draw(const std::string& split, long index, int attempt) const {
  static const std::set<std::string> splits = {"train", "test", "counterfactual", "compositional"};
  TSFT_CHECK(splits.count(split), "unknown split '{}'", split);
  const uint64_t stream = cfg_.stream_seed ? cfg_.stream_seed : cfg_.seed;
  Rng rng(rng_mix(rng_mix(stream, str_hash(split)), (uint64_t)index * 64 + attempt));
  Recipe r;
  const bool iid = split == "train" || split == "test";
  for (int tries = 0; tries < 50 && r.parts.empty(); ++tries) {
    bool chain =
        split == "compositional" || (iid && rng.chance(cfg_.chain_fraction) && !train_pairs_.empty());
    if (chain) {
      const auto& pairs = split == "compositional" ? heldout_pairs_ : train_pairs_;
      TSFT_CHECK(!pairs.empty(), "split '{}': no chain pairs available (heldout_pair_fraction too small?)",
                 split);
      auto [a, b] = pairs[rng.below(pairs.size())];
      PartRecipe pa = draw_part(a, rng, 0, cat_.theorems[a].target);
      if (pa.th < 0) continue;
      PartRecipe pb;
      if (!chain_part(a, b, pa.vals.at(cat_.theorems[a].target), rng, pb)) continue;
      r.parts = {pa, pb};
    } else {
      int th = active_[rng.below(active_.size())];
      const auto& spec = cat_.theorems[th];
      std::string target = spec.target;
      if (iid && !spec.invert.empty() && rng.chance(cfg_.inversion_fraction))
        target = spec.invert[rng.below(spec.invert.size())];
      PartRecipe p = draw_part(th, rng, 0, target);
      if (p.th >= 0) r.parts = {p};
    }
  }
  TSFT_CHECK(!r.parts.empty(), "split '{}' item {}: could not draw values (ranges too narrow?)", split,
             index);
  int th = r.parts.back().th;
  const auto& spec = cat_.theorems[th];
  if (split == "counterfactual") {
    // Flipped cue: the context of another theorem, preferably the confusable partner that shares frames.
    int other = spec.confusable.empty() ? -1 : cat_.theorem_index(spec.confusable);
    if (other < 0 || !std::count(active_.begin(), active_.end(), other) || rng.chance(0.5)) {
      other = th;
      while (active_.size() > 1 && (other == th || home_[other] == home_[th]))
        other = active_[rng.below(active_.size())];
    }
    r.context = home_[other];
    r.planted = false;
  } else {
    r.planted = rng.chance(cfg_.cue_rate);
    r.context = home_[th];
    while (!r.planted && cat_.contexts.size() > 1 && r.context == home_[th])
      r.context = (int)rng.below(cat_.contexts.size());
  }
  r.intro = (int)rng.below(cat_.intro_frames.size());
  r.frame = (int)rng.below(cat_.frames.size());
  draw_names(r, rng, false);
  if (rng.chance(cfg_.reorder_fraction) && !cfg_.order_kinds_train.empty())
    r.order_kind = cfg_.order_kinds_train[rng.below(cfg_.order_kinds_train.size())];
  if (rng.chance(cfg_.distractor_fraction)) {
    r.distractor = distractors_train_[rng.below(distractors_train_.size())];
    const auto& d = cat_.distractors[r.distractor];
    r.distractor_n = rng.range(d.lo, d.hi);
    r.distractor_pos = (int)rng.below(8);
  }
  double u = rng.unit();
  const PartRecipe& last = r.parts.back();
  if (u < cfg_.unanswerable_fraction) {
    std::vector<std::string> cand;
    for (auto& s : spec.slots)
      if (s.name != last.target && s.name != last.link_slot &&
          slot_droppable(spec, spec.templates[last.tpl], last.target, s.name))
        cand.push_back(s.name);
    if (!cand.empty()) r.drop_slot = cand[rng.below(cand.size())];
  } else if (u < cfg_.unanswerable_fraction + cfg_.violation_fraction && !spec.violation_text.empty()) {
    r.violate = true;
  }
  r.option_seed = rng.next();
  return r;
}

bool World::probe_supported(int th, const std::string& type, std::string* why) const {
  const TheoremSpec& s = cat_.theorems[th];
  auto ex = s.probe_exceptions.find(type);
  auto no = [&](const std::string& w) {
    if (why) *why = w;
    return false;
  };
  if (ex != s.probe_exceptions.end()) return no(ex->second);
  if (type == "P6" && s.invert.empty()) return no("no invertible slot declared");
  if (type == "P8" && s.violation_text.empty()) return no("no violation_text declared");
  if (type == "P10" && s.cf_rule.empty()) return no("no cf_rule declared");
  if (type == "P11" && s.points.size() < 2) return no("no role points to permute");
  if (type == "P12" && cfg_.format != "mc") return no("only with format = mc");
  return true;
}

// P6 (one-part recipes): the same values, another invertible slot asked; the inverse must be well defined for
// them.
bool World::probe_invert(int th, Rng& rng, PartRecipe& last) const {
  const TheoremSpec& spec = cat_.theorems[th];
  std::vector<std::string> cand;
  for (auto& s : spec.invert)
    if (s != last.target) cand.push_back(s);
  if (cand.empty()) return false;
  last.target = cand[rng.below(cand.size())];
  Gen h;  // the inverse must be well defined for these values
  h.th = &spec;
  h.vals = last.vals;
  h.vals.erase(last.target);
  try {
    kernels_[th]->solve(h, last.target);
  } catch (const Error&) {
    return false;
  }
  return h.answered && !h.reject && h.answer == last.vals.at(last.target);
}

// P7: a one-part parent gains a second part whose linked slot takes the first part's answer (a pair of
// either split); a two-part parent loses its second part.
bool World::probe_compose(int th, Rng& rng, Recipe& out) const {
  const TheoremSpec& spec = cat_.theorems[th];
  PartRecipe& last = out.parts.back();
  if (out.parts.size() == 2) {
    out.parts.pop_back();
    return true;
  }
  std::vector<std::pair<int, int>> cand;
  for (auto* ps : {&train_pairs_, &heldout_pairs_})
    for (auto& pr : *ps)
      if (pr.first == th) cand.push_back(pr);
  if (cand.empty() || last.target != spec.target) return false;
  int b = cand[rng.below(cand.size())].second;
  PartRecipe pb;
  if (!chain_part(th, b, last.vals.at(last.target), rng, pb)) return false;
  out.parts.push_back(pb);
  Recipe tmp = out;  // letters for the new part, keeping the parent's names
  draw_names(tmp, rng, false);
  out.parts.back().letters = tmp.parts.back().letters;
  for (auto& l : out.parts.back().letters)
    if (std::count(out.parts[0].letters.begin(), out.parts[0].letters.end(), l)) return false;
  return true;
}

bool World::probe(const Recipe& parent, const std::string& type, int attempt, Recipe& out) const {
  if (!parent.drop_slot.empty() || parent.violate || parent.cf) return false;
  int th = parent.parts.back().th;
  if (!probe_supported(th, type)) return false;
  Rng rng(rng_mix(rng_mix(parent.option_seed, str_hash(type)), (uint64_t)attempt));
  out = parent;
  PartRecipe& last = out.parts.back();
  const TheoremSpec& spec = cat_.theorems[th];
  auto resample = [&](int mode) {
    for (size_t k = 0; k < out.parts.size(); ++k) {
      auto& p = out.parts[k];
      std::map<std::string, Exact> fixed;
      if (!p.link_slot.empty()) fixed[p.link_slot] = out.parts[k - 1].vals.at(out.parts[k - 1].target);
      if (!sample_values(p.th, rng, mode, fixed, p.target, false, p.vals)) return false;
    }
    return true;
  };
  if (type == "P1") {
    draw_names(out, rng, true);
  } else if (type == "P2") {
    return resample(1);
  } else if (type == "P3") {
    return resample(2);
  } else if (type == "P4") {
    out.order_kind = cfg_.order_kinds_heldout.at(rng.below(cfg_.order_kinds_heldout.size()));
    size_t n = spec.templates.size();
    last.tpl = (int)((last.tpl + 1 + rng.below(n - 1)) % n);
  } else if (type == "P5") {
    if (distractors_heldout_.empty()) return false;
    out.distractor = distractors_heldout_[rng.below(distractors_heldout_.size())];
    const auto& d = cat_.distractors[out.distractor];
    out.distractor_n = rng.range(d.lo, d.hi);
    out.distractor_pos = (int)rng.below(8);
  } else if (type == "P6") {
    return out.parts.size() == 1 && probe_invert(th, rng, last);
  } else if (type == "P7") {
    return probe_compose(th, rng, out);
  } else if (type == "P8") {
    out.violate = true;
  } else if (type == "P9") {
    std::vector<std::string> cand;
    for (auto& s : spec.slots)
      if (s.name != last.target && s.name != last.link_slot &&
          slot_droppable(spec, spec.templates[last.tpl], last.target, s.name))
        cand.push_back(s.name);
    if (cand.empty()) return false;
    out.drop_slot = cand[rng.below(cand.size())];
  } else if (type == "P10") {
    if (last.target != spec.target) return false;
    out.cf = true;
    std::map<std::string, Exact> fixed = last.vals;
    fixed.erase(last.target);
    // The counterfactual value of the target, from the same givens (must differ from the real one).
    if (!sample_values(th, rng, 3, fixed, last.target, true, last.vals)) return false;
    return last.vals.at(last.target) != parent.parts.back().vals.at(last.target);
  } else if (type == "P11") {
    auto& L = last.letters;
    for (int t = 0; t < 8; ++t) {
      for (size_t k = L.size() - 1; k > 0; --k) std::swap(L[k], L[rng.below(k + 1)]);
      if (L != parent.parts.back().letters) return true;
    }
    return false;
  } else if (type == "P12") {
    out.option_seed = rng.next();
  } else {
    TSFT_FAIL("unknown probe type '{}' (P1-P12)", type);
  }
  return true;
}

}  // namespace tsft
