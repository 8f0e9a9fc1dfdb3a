// report.md and a self-contained report.html (inline SVG, no network) from an experiment directory:
// the question and the three claims, per-arm accuracy with 95% intervals per split and probe, probe
// drops, theorem vs vanilla paired differences (McNemar, bootstrap), all vs mlp vs attn, delta
// transplants, training curves, verdicts computed from the numbers, config, seeds, versions (stage wall times: timings.json).
#pragma once
#include <string>

namespace tsft {

// Writes DIR/report.md and DIR/report.html; returns the path of report.md.
std::string report_write(const std::string& experiment_dir);

}  // namespace tsft
