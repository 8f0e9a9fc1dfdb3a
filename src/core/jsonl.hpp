// Reading JSONL: one JSON value per line, read line by line (a file is never loaded whole).
//
// Lines are numbered from 1 in the input; a line that is empty or only spaces, tabs and '\r' is skipped
// (so CRLF files read like LF files). A line that does not parse is an error naming "source:line".
// The last line may lack its '\n': that is how a writer killed mid-append leaves a file ("torn"). What
// happens to it is the caller's policy (JsonlTail); every earlier line is always parsed strictly.
#pragma once
#include <cstddef>
#include <functional>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace tsft {

enum class JsonlTail {
  kStrict,    // an unterminated last line is read like any other (files written atomically)
  kDropTorn,  // an unterminated last line that does not parse is dropped (append-only logs after a crash)
};

struct JsonlOptions {
  JsonlTail tail = JsonlTail::kStrict;
  bool missing_ok = false;  // a missing file reads as empty instead of an error
  size_t max_records = 0;   // stop after this many records, the rest unread (0 = all; e.g. --limit)
};

// One parsed line. `text` is the raw line (without '\n' and a trailing '\r').
struct JsonlRecord {
  nlohmann::json value;
  std::string_view text;
  const std::string* source = nullptr;
  size_t line = 0;

  std::string where() const;  // "source:line", for error messages
  // value[name], or an error "source:line: missing field 'name'" (also when value is not an object).
  const nlohmann::json& field(const char* name) const;
  // field(name) as a string, or an error "source:line: field 'name' must be a string".
  const std::string& str(const char* name) const;
};

// Calls fn for every non-blank line of `in` (named `source` in errors), parsed. Returns true when a torn
// last line was dropped (JsonlTail::kDropTorn only). A nlohmann::json exception escaping fn (a field of
// the wrong type) becomes an Error naming "source:line".
bool jsonl_for_each(std::istream& in, const std::string& source, const std::function<void(JsonlRecord&)>& fn,
                    const JsonlOptions& opt = {});
// The same over a file; a file that cannot be opened is an error naming it (unless missing_ok and absent).
bool jsonl_for_each(const std::string& path, const std::function<void(JsonlRecord&)>& fn,
                    const JsonlOptions& opt = {});
// Every record of a file.
std::vector<nlohmann::json> jsonl_read(const std::string& path, const JsonlOptions& opt = {});

// A whole JSON file (not JSONL), parsed: a file that cannot be read or does not parse is an Error naming it.
nlohmann::json json_read_file(const std::string& path);

// The unparsed form, for callers that parse each line themselves: fn(text, line) for every non-blank line.
void jsonl_for_each_line(std::istream& in, const std::function<void(std::string_view, size_t)>& fn);

}  // namespace tsft
