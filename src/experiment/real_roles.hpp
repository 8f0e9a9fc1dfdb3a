// Roles of a real-data experiment's eval sets ([real_data] eval_roles, declared in the config before any
// result), and what they make of the converted records:
//   in_distribution  split "test": the items of C2a (theorem - vanilla) and C3 (MLP-only recovery)
//   probes           GSM-Plus variants: each perturbation type becomes the probe of the claim pools it
//                    tests (gsm_plus_probe), and a variant whose seed question is an item of an
//                    in_distribution set gets that item as its parent: a variant/parent pair for C1/C2b.
//                    A variant without its parent in the eval data keeps no parent (not a pair).
//   other            reported per split, no claim
#pragma once
#include <string>
#include <vector>

#include "data/problem.hpp"

namespace tsft::exp_detail {

const std::vector<std::string>& real_roles();

// GSM-Plus perturbation_type -> probe of THEOREM_WORLD.md "Claim pools" testing the same thing:
//   numerical substitution -> P2 (resample)      problem understanding -> P4 (paraphrase)
//   distractor insertion   -> P5 (distractor)    reversing operation   -> P6 (inversion)
//   adding operation       -> P7 (depth)         integer-decimal-fraction conversion -> P12 (format)
//   digit expansion        -> P3 (magnitude: in a pool only if [claims] p3 = "in"; nothing drills it)
//   critical thinking      -> P9 (unanswerable: premise checks, reported apart)
// Unknown types are errors naming `where`.
std::string gsm_plus_probe(const std::string& perturbation_type, const std::string& where);

struct RoleStats {
  long in_distribution = 0, variants = 0, linked = 0;  // linked: variants whose parent is an eval item
};

// Applies `roles` (one per set, same order as `sets`, whose `formats` are the sets' adapter formats) to
// the converted records in place; `names` name the sets in errors.
RoleStats real_apply_roles(std::vector<std::vector<data::Problem>>& sets,
                           const std::vector<std::string>& roles, const std::vector<std::string>& formats,
                           const std::vector<std::string>& names);

}  // namespace tsft::exp_detail
