// Tokenizer encode throughput, tsft vs Hugging Face tokenizers (npm native binding), same text, single
// thread, side by side in one run. Not a test: run by hand.
//   bench_tokenizer_encode [--tokenizer FILE]... [--docs FILE.jsonl] [--mb N] [--reps N]
// Both sides encode the same list of documents one by one (as SFT data preparation does; HF through
// encodeBatch with parallelism off). Default tokenizers: the Qwen3 and Llama-3 fixtures. Default
// documents: N MB (default 4) of prose, code, math and multilingual snippets assembled with a fixed
// seed from the repository's docs and sources and the fixture cases (paragraphs in random order, a few
// joined per document, random numbers spliced in). Prints MB/s of both and the ratio (>1: tsft
// faster), after checking both produced the same ids (count and checksum).
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.hpp"

namespace {

std::string read_file(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::vector<std::string> make_docs(size_t target_bytes) {
  std::string src = std::string(TSFT_SOURCE_DIR);
  std::string fx = src + "/../shared/fixtures";
  std::vector<std::string> paras;
  auto add_paragraphs = [&](const std::string& text) {
    size_t start = 0;
    while (start < text.size()) {
      size_t end = text.find("\n\n", start);
      if (end == std::string::npos) end = text.size();
      if (end > start) paras.push_back(text.substr(start, end - start));
      start = end + 2;
    }
  };
  for (const char* f :
       {"/../shared/DESIGN.md", "/../shared/THEOREM_WORLD.md", "/../shared/fixtures/README.md"})
    add_paragraphs(read_file(src + f));
  for (const auto& entry : std::filesystem::recursive_directory_iterator(src + "/src"))
    if (entry.path().extension() == ".cpp" || entry.path().extension() == ".hpp")
      add_paragraphs(read_file(entry.path().string()));
  for (const char* f :
       {"/tokenizers/qwen3/cases.jsonl", "/tokenizers/llama3/cases.jsonl", "/math_equiv/cases.jsonl"}) {
    std::ifstream in(fx + f);
    std::string line;
    while (std::getline(in, line)) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded()) continue;
      for (const char* k : {"text", "gold", "pred"})
        if (j.contains(k) && j[k].is_string()) paras.push_back(j[k].get<std::string>());
    }
  }
  std::mt19937_64 rng(1234);
  std::vector<std::string> docs;
  size_t total = 0;
  while (total < target_bytes && !paras.empty()) {
    std::string d;
    for (int k = 0, n = 1 + static_cast<int>(rng() % 6); k < n; ++k) {
      d += paras[rng() % paras.size()];
      d += rng() % 4 == 0 ? " " + std::to_string(rng() % 100000) + " " : "\n\n";
    }
    total += d.size();
    docs.push_back(std::move(d));
  }
  return docs;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> toks;
  std::string text_file;  // --docs
  double mb = 4;
  int reps = 3;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--tokenizer")
      toks.push_back(next());
    else if (a == "--docs")
      text_file = next();
    else if (a == "--mb")
      mb = std::stod(next());
    else if (a == "--reps")
      reps = std::stoi(next());
    else {
      std::fprintf(stderr, "usage: %s [--tokenizer FILE]... [--docs FILE.jsonl] [--mb N] [--reps N]\n",
                   argv[0]);
      return 2;
    }
  }
  std::string fx = std::string(TSFT_SOURCE_DIR) + "/../shared/fixtures/tokenizers";
  if (toks.empty()) toks = {fx + "/qwen3/tokenizer.json", fx + "/llama3/tokenizer.json"};
  std::vector<std::string> docs;
  std::string path = text_file;
  if (text_file.empty()) {
    docs = make_docs(static_cast<size_t>(mb * 1e6));
    path = (std::filesystem::temp_directory_path() / "tsft_bench_tokenizer_docs.jsonl").string();
    std::ofstream f(path, std::ios::binary);
    for (const auto& d : docs) f << nlohmann::json{{"text", d}}.dump() << "\n";
  } else {
    std::ifstream f(text_file);
    std::string line;
    while (std::getline(f, line))
      if (!line.empty()) docs.push_back(nlohmann::json::parse(line)["text"].get<std::string>());
  }
  size_t bytes = 0;
  for (const auto& d : docs) bytes += d.size();
  std::printf("docs: %s, %zu documents, %.2f MB; best of %d after a warm-up; single thread\n", path.c_str(),
              docs.size(), bytes / 1e6, reps);
  std::printf("%-60s %12s %12s %8s\n", "tokenizer", "tsft MB/s", "hf MB/s", "ratio");
  for (const std::string& t : toks) {
    tsft::tokenizer::Tokenizer tok(t);
    std::vector<std::vector<int32_t>> ids(docs.size());
    for (size_t d = 0; d < docs.size(); ++d) ids[d] = tok.encode(docs[d]);  // warm-up
    double best = 0;
    for (int r = 0; r < reps; ++r) {
      auto t0 = std::chrono::steady_clock::now();
      for (size_t d = 0; d < docs.size(); ++d) ids[d] = tok.encode(docs[d]);
      double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      best = std::max(best, bytes / 1e6 / dt);
    }
    long long checksum = 0;
    size_t n_ids = 0;
    for (const auto& v : ids) {
      n_ids += v.size();
      for (int32_t id : v) checksum = (checksum * 31 + id) % 1000000007;
    }
    std::string cmd = "RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false node '" +
                      std::string(TSFT_SOURCE_DIR) + "/bench/tokenizer_encode.js' '" + t + "' '" + path +
                      "' " + std::to_string(reps);
    std::string out;
    if (FILE* p = popen(cmd.c_str(), "r")) {
      char buf[4096];
      while (fgets(buf, sizeof buf, p)) out += buf;
      pclose(p);
    }
    auto j = nlohmann::json::parse(out, nullptr, false);
    if (j.is_discarded() || !j.contains("mb_per_s")) {
      std::printf("%-60s %12.2f %12s %8s  (peer unavailable: run scripts/setup.sh)\n", t.c_str(), best, "-",
                  "-");
      continue;
    }
    double hf = j["mb_per_s"].get<double>();
    bool same = j["n_ids"].get<size_t>() == n_ids && j["checksum"].get<long long>() == checksum;
    std::printf("%-60s %12.2f %12.2f %7.2fx%s\n", t.c_str(), best, hf, best / hf, same ? "" : "  IDS DIFFER");
  }
  return 0;
}
