#include "train/data.hpp"

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/jsonl.hpp"
#include "core/progress.hpp"

namespace tsft {

using json = nlohmann::json;
using tokenizer::ChatMessage;

int64_t Example::supervised() const {
  int64_t n = 0;
  for (size_t i = 1; i < mask.size(); i++) n += mask[i];
  return n;
}

namespace {
std::string field_str(const json& j, const char* key, const std::string& where) {
  TSFT_CHECK(j.contains(key), "{}: missing field '{}'", where, key);
  TSFT_CHECK(j[key].is_string(), "{}: field '{}' must be a string", where, key);
  return j[key].get<std::string>();
}

// Applies the overlong policy; returns false when the example is dropped.
bool fit_block(Example& ex, const DataOptions& opt, DataStats* st) {
  if ((int)ex.ids.size() <= opt.block) return true;
  if (opt.overlong == Overlong::drop) {
    st->dropped++;
    return false;
  }
  ex.ids.resize(opt.block);
  ex.mask.resize(opt.block);
  st->truncated++;
  return true;
}

}  // namespace

std::vector<Example> data_load_sft(const std::string& path, const tokenizer::Tokenizer& tok,
                                   const DataOptions& opt, DataStats* stats) {
  DataStats local;
  DataStats* st = stats ? stats : &local;
  std::vector<Example> out;
  jsonl_for_each(path, [&](JsonlRecord& rec) {
    const std::string where = rec.where();
    const json& j = rec.value;
    const size_t no = rec.line;
    TSFT_CHECK(j.is_object(), "{}: each line must be a JSON object", where);
    std::vector<ChatMessage> msgs;
    if (j.contains("messages")) {
      TSFT_CHECK(j["messages"].is_array() && !j["messages"].empty(),
                 "{}: field 'messages' must be a non-empty array", where);
      for (size_t k = 0; k < j["messages"].size(); k++) {
        const json& m = j["messages"][k];
        std::string mw = fmt::format("{}: messages[{}]", where, k);
        TSFT_CHECK(m.is_object(), "{} must be an object", mw);
        ChatMessage cm;
        cm.role = field_str(m, "role", mw);
        TSFT_CHECK(cm.role == "system" || cm.role == "user" || cm.role == "assistant" || cm.role == "tool",
                   "{}: field 'role' = '{}' (system, user, assistant)", mw, cm.role);
        cm.content = field_str(m, "content", mw);
        msgs.push_back(std::move(cm));
      }
    } else if (j.contains("prompt") || j.contains("completion")) {
      msgs.push_back({"user", rec.str("prompt"), std::nullopt});
      msgs.push_back({"assistant", rec.str("completion"), std::nullopt});
    } else {
      TSFT_FAIL("{}: expected field 'messages' or fields 'prompt'/'completion'", where);
    }
    tokenizer::ChatRendered r = tokenizer::chat_render(tok, msgs, opt.chat);
    Example ex;
    ex.id = j.contains("id") ? (j["id"].is_string() ? j["id"].get<std::string>() : j["id"].dump())
                             : fmt::format("line{}", no);
    ex.ids = std::move(r.ids);
    ex.mask = std::move(r.assistant_mask);
    st->examples++;
    if (!fit_block(ex, opt, st)) return;
    int64_t sup = ex.supervised();
    if (sup == 0) {
      st->zero_supervised.push_back(ex.id);
      log_info("warning: {}: example '{}' has no supervised token{} — it contributes nothing", where, ex.id,
               (int)r.ids.size() > opt.block ? " after truncation to the block" : "");
    }
    st->tokens += (int64_t)ex.ids.size();
    st->supervised += sup;
    out.push_back(std::move(ex));
  });
  TSFT_CHECK(st->examples > 0, "{}: no examples", path);
  TSFT_CHECK(st->supervised > 0, "{}: none of the {} examples has a supervised (assistant) token", path,
             st->examples);
  return out;
}

std::vector<Example> data_load_text(const std::string& path, const tokenizer::Tokenizer& tok,
                                    const DataOptions& opt, DataStats* stats) {
  DataStats local;
  DataStats* st = stats ? stats : &local;
  std::vector<std::string> docs;
  bool jsonl = path.size() >= 6 && path.substr(path.size() - 6) == ".jsonl";
  if (jsonl) {
    jsonl_for_each(path, [&](JsonlRecord& rec) { docs.push_back(rec.str("text")); });
  } else {
    std::ifstream in(path);
    TSFT_CHECK(in, "{}: cannot open corpus", path);
    std::string line, cur;
    while (std::getline(in, line)) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) {
        if (!cur.empty()) docs.push_back(std::move(cur));
        cur.clear();
      } else {
        cur += cur.empty() ? line : "\n" + line;
      }
    }
    if (!cur.empty()) docs.push_back(std::move(cur));
  }
  TSFT_CHECK(!docs.empty(), "{}: no documents", path);
  std::vector<Example> out;
  for (size_t d = 0; d < docs.size(); d++) {
    std::vector<int32_t> ids;
    if (tok.bos_id() >= 0) ids.push_back(tok.bos_id());
    std::vector<int32_t> body = tok.encode(docs[d]);
    ids.insert(ids.end(), body.begin(), body.end());
    if (tok.eos_id() >= 0) ids.push_back(tok.eos_id());
    st->examples++;
    for (size_t s = 0; s < ids.size(); s += opt.block) {
      Example ex;
      ex.id = fmt::format("doc{}.{}", d, s / opt.block);
      ex.ids.assign(ids.begin() + s, ids.begin() + std::min(ids.size(), s + opt.block));
      if (ex.ids.size() < 2) continue;
      ex.mask.assign(ex.ids.size(), 1);
      st->tokens += (int64_t)ex.ids.size();
      st->supervised += ex.supervised();
      out.push_back(std::move(ex));
    }
  }
  return out;
}

std::vector<PackedRow> data_pack(const std::vector<Example>& ex, int block, bool packing) {
  std::vector<size_t> order(ex.size());
  for (size_t i = 0; i < ex.size(); i++) order[i] = i;
  std::vector<std::vector<size_t>> rows;
  if (packing) {
    // best-fit decreasing: longest first, into the fullest row that still has room
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return ex[a].ids.size() > ex[b].ids.size(); });
    std::multimap<int, size_t> by_free;  // free space -> row
    for (size_t i : order) {
      int len = (int)ex[i].ids.size();
      auto it = by_free.lower_bound(len);
      if (it == by_free.end()) {
        rows.push_back({i});
        by_free.emplace(block - len, rows.size() - 1);
      } else {
        size_t r = it->second;
        int free = it->first - len;
        by_free.erase(it);
        rows[r].push_back(i);
        by_free.emplace(free, r);
      }
    }
  } else {
    for (size_t i : order) rows.push_back({i});
  }
  std::vector<PackedRow> out(rows.size());
  for (size_t r = 0; r < rows.size(); r++) {
    PackedRow& row = out[r];
    int32_t d = 0;
    for (size_t i : rows[r]) {
      const Example& e = ex[i];
      for (size_t t = 0; t < e.ids.size(); t++) {
        row.ids.push_back(e.ids[t]);
        row.pos.push_back((int32_t)t);
        row.doc.push_back(d);
        row.targets.push_back(t + 1 < e.ids.size() && e.mask[t + 1] ? e.ids[t + 1] : -100);
      }
      d++;
    }
  }
  return out;
}

MicroBatch data_make_batch(const std::vector<PackedRow>& rows, const std::vector<size_t>& which) {
  MicroBatch mb;
  mb.B = (int)which.size();
  for (size_t r : which) mb.T = std::max(mb.T, (int)rows[r].ids.size());
  size_t N = (size_t)mb.B * mb.T;
  mb.ids.assign(N, 0);
  mb.targets.assign(N, -100);
  mb.pos.assign(N, 0);
  mb.doc.assign(N, -1);
  for (int b = 0; b < mb.B; b++) {
    const PackedRow& row = rows[which[b]];
    std::copy(row.ids.begin(), row.ids.end(), mb.ids.begin() + (size_t)b * mb.T);
    std::copy(row.targets.begin(), row.targets.end(), mb.targets.begin() + (size_t)b * mb.T);
    std::copy(row.pos.begin(), row.pos.end(), mb.pos.begin() + (size_t)b * mb.T);
    std::copy(row.doc.begin(), row.doc.end(), mb.doc.begin() + (size_t)b * mb.T);
    mb.tokens += (int64_t)row.ids.size();
    for (int32_t t : row.targets) mb.supervised += t != -100;
  }
  return mb;
}

}  // namespace tsft
