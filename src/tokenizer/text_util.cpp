#include "tokenizer/text_util.hpp"

#include <utf8proc.h>

#include <cstdlib>
#include <memory>

#include "core/error.hpp"

namespace tsft::tokenizer {

void text_append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

char32_t text_next_cp(std::string_view s, size_t& i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  if (c < 0x80) {
    ++i;
    return c;
  }
  int n = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : 1;
  char32_t cp = c & (0x3F >> n);
  for (int k = 1; k <= n && i + k < s.size(); ++k) cp = (cp << 6) | (b(i + k) & 0x3F);
  i = std::min(i + n + 1, s.size());  // a truncated sequence ends at the end of `s`
  return cp;
}

bool text_is_ascii(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return false;
  return true;
}

namespace {
std::string nfc_utf8proc(std::string_view s) {
  utf8proc_uint8_t* out = nullptr;
  utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()),
                                    static_cast<utf8proc_ssize_t>(s.size()), &out,
                                    static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  TSFT_CHECK(n >= 0, "NFC normalization failed: {}", utf8proc_errmsg(n));
  std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> guard(out, &std::free);
  return std::string(reinterpret_cast<const char*>(out), static_cast<size_t>(n));
}

// Code points before which NFC never changes anything (canonical combining class 0, NFC_Quick_Check=Yes,
// never the second element of a composition): normalization can cut the text there and treat the
// pieces independently (UAX #15). A conservative subset: everything below U+0300, kana except the
// combining voicing marks, CJK unified ideographs, Hangul syllables, the emoji planes' symbols.
bool nfc_boundary_before(char32_t c) {
  return c < 0x300 || (c >= 0x3040 && c <= 0x30FF && c != 0x3099 && c != 0x309A) ||
         (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0x1F300 && c <= 0x1FAFF);
}
}  // namespace

std::string text_nfc(std::string_view s) {
  if (text_is_ascii(s)) return std::string(s);
  // Copy runs that start at a boundary and contain only boundary code points; hand each stretch from
  // the last boundary before a non-boundary code point up to the next boundary to utf8proc.
  std::string out;
  out.reserve(s.size());
  size_t i = 0, seg_start = 0, last_boundary = 0;
  bool dirty = false;  // the current segment [last_boundary, i) holds a non-boundary code point
  while (i < s.size()) {
    size_t at = i;
    char32_t c =
        static_cast<unsigned char>(s[i]) < 0x80 ? static_cast<unsigned char>(s[i++]) : text_next_cp(s, i);
    if (!nfc_boundary_before(c)) {
      if (!dirty) {
        out.append(s.substr(seg_start, last_boundary - seg_start));
        seg_start = last_boundary;
        dirty = true;
      }
      continue;
    }
    if (dirty) {
      out += nfc_utf8proc(s.substr(seg_start, at - seg_start));
      seg_start = at;
      dirty = false;
    }
    last_boundary = at;
  }
  if (dirty)
    out += nfc_utf8proc(s.substr(seg_start));
  else
    out.append(s.substr(seg_start));
  return out;
}

namespace {
struct ByteTables {
  std::array<char32_t, 256> to_char{};
  std::array<int, 0x144> from_char{};  // code point -> byte, -1 when not a byte character
  ByteTables() {
    from_char.fill(-1);
    int extra = 0;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      to_char[b] = printable ? static_cast<char32_t>(b) : static_cast<char32_t>(0x100 + extra++);
      from_char[to_char[b]] = b;
    }
  }
};
const ByteTables& byte_tables() {
  static const ByteTables t;
  return t;
}
}  // namespace

const std::array<char32_t, 256>& text_byte_to_char() {
  return byte_tables().to_char;
}

std::string text_bytes_to_bytelevel(std::string_view bytes) {
  const auto& t = byte_tables();
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) text_append_utf8(out, t.to_char[c]);
  return out;
}

bool text_bytelevel_to_bytes(std::string_view s, std::string& out) {
  const auto& t = byte_tables();
  out.clear();
  size_t i = 0;
  while (i < s.size()) {
    char32_t cp = text_next_cp(s, i);
    if (cp >= t.from_char.size() || t.from_char[cp] < 0) return false;
    out.push_back(static_cast<char>(t.from_char[cp]));
  }
  return true;
}

std::string text_utf8_lossy(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = b(i);
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    // Expected length and the allowed range of the second byte (Unicode Table 3-7).
    int need = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      need = 2;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      need = 3;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    }
    if (need == 0) {  // not a lead byte: one replacement for this byte
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    size_t k = 1;
    bool ok = true;
    for (; k <= static_cast<size_t>(need); ++k) {
      if (i + k >= s.size()) {
        ok = false;
        break;
      }
      unsigned char d = b(i + k);
      unsigned char l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
      if (d < l || d > h) {
        ok = false;
        break;
      }
    }
    if (ok) {
      out.append(s.substr(i, need + 1));
      i += need + 1;
    } else {  // maximal subpart = lead byte + the valid continuation bytes seen so far
      out += "\xEF\xBF\xBD";
      i += k;
    }
  }
  return out;
}

}  // namespace tsft::tokenizer
