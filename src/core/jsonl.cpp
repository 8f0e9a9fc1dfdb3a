#include "core/jsonl.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <istream>

#include "core/error.hpp"
#include "core/fs.hpp"

namespace tsft {

std::string JsonlRecord::where() const {
  return fmt::format("{}:{}", source ? *source : "", line);
}

const nlohmann::json& JsonlRecord::field(const char* name) const {
  TSFT_CHECK(value.is_object() && value.contains(name), "{}: missing field '{}'", where(), name);
  return value[name];
}

const std::string& JsonlRecord::str(const char* name) const {
  const nlohmann::json& f = field(name);
  TSFT_CHECK(f.is_string(), "{}: field '{}' must be a string", where(), name);
  return f.get_ref<const std::string&>();
}

namespace {
bool blank(std::string_view s) {
  return s.find_first_not_of(" \t\r") == std::string_view::npos;
}

// fn(text, line, terminated) for every non-blank line until fn returns false; `terminated` is false only
// for a last line that lacks its '\n' (getline sets eof exactly then).
void each_line(std::istream& in, const std::function<bool(std::string_view, size_t, bool)>& fn) {
  std::string line;
  for (size_t no = 1; std::getline(in, line); ++no) {
    if (blank(line)) continue;
    std::string_view text = line;
    if (text.back() == '\r') text.remove_suffix(1);
    if (!fn(text, no, !in.eof())) return;
  }
}
}  // namespace

void jsonl_for_each_line(std::istream& in, const std::function<void(std::string_view, size_t)>& fn) {
  each_line(in, [&](std::string_view text, size_t no, bool) {
    fn(text, no);
    return true;
  });
}

bool jsonl_for_each(std::istream& in, const std::string& source, const std::function<void(JsonlRecord&)>& fn,
                    const JsonlOptions& opt) {
  bool torn = false;
  size_t records = 0;
  each_line(in, [&](std::string_view text, size_t no, bool terminated) {
    JsonlRecord rec;
    rec.text = text;
    rec.source = &source;
    rec.line = no;
    try {
      rec.value = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for 1e999
      if (!terminated && opt.tail == JsonlTail::kDropTorn) {
        torn = true;
        return false;
      }
      TSFT_FAIL("{}: invalid JSON ({})", rec.where(), e.what());
    }
    try {
      fn(rec);
    } catch (const nlohmann::json::exception& e) {
      // A reader that took a field's type on trust (get<std::string>() of a number, value("k", 0) of a
      // string): the library's message names the types, this names the file and line.
      TSFT_FAIL("{}: a field has the wrong type or value ({})", rec.where(), e.what());
    }
    return opt.max_records == 0 || ++records < opt.max_records;
  });
  return torn;
}

bool jsonl_for_each(const std::string& path, const std::function<void(JsonlRecord&)>& fn,
                    const JsonlOptions& opt) {
  if (opt.missing_ok && !std::filesystem::exists(path)) return false;
  std::ifstream in(path, std::ios::binary);
  TSFT_CHECK(in, "{}: cannot open ({})", path, std::strerror(errno));
  return jsonl_for_each(in, path, fn, opt);
}

std::vector<nlohmann::json> jsonl_read(const std::string& path, const JsonlOptions& opt) {
  std::vector<nlohmann::json> out;
  jsonl_for_each(
      path, [&](JsonlRecord& r) { out.push_back(std::move(r.value)); }, opt);
  return out;
}

nlohmann::json json_read_file(const std::string& path) {
  std::string text = fs_read_text(path);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for 1e999
    TSFT_FAIL("{}: invalid JSON ({})", path, e.what());
  }
}

}  // namespace tsft
