// UTF-8 and byte-level helpers shared by the tokenizer pieces.
//
// Byte-level BPE (GPT-2 / Qwen / Llama-3) stores every token as a string of "byte characters": each of
// the 256 byte values is mapped to one printable code point (printable Latin-1 bytes map to themselves,
// the other 68 bytes to U+0100..U+0143 in order). Internally we work on raw bytes and only use the
// mapping at the file boundary (loading vocab/merges, writing a trained tokenizer.json).
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace tsft::tokenizer {

// Append the UTF-8 encoding of code point `cp` to `out`.
void text_append_utf8(std::string& out, char32_t cp);
// Decode one code point at s[i] (valid UTF-8 assumed, as produced by JSON parsing); advances i, never
// past s.size() (a truncated sequence at the end decodes to garbage, not an out-of-range read).
char32_t text_next_cp(std::string_view s, size_t& i);
// True when every byte is < 0x80.
bool text_is_ascii(std::string_view s);

// Unicode NFC (utf8proc). ASCII strings are returned unchanged without a call into utf8proc.
std::string text_nfc(std::string_view s);

// Byte <-> byte-character mapping of byte-level BPE.
const std::array<char32_t, 256>& text_byte_to_char();
// Map raw bytes to their byte-character UTF-8 string ("Ġ" for ' ', ...).
std::string text_bytes_to_bytelevel(std::string_view bytes);
// Inverse of text_bytes_to_bytelevel; returns false (leaving `out` unspecified) when `s` holds a code
// point outside the 256 byte characters.
bool text_bytelevel_to_bytes(std::string_view s, std::string& out);

// Replace invalid UTF-8 with U+FFFD the way Rust's String::from_utf8_lossy does (one replacement per
// maximal invalid subpart), which is what Hugging Face's ByteLevel decoder returns.
std::string text_utf8_lossy(std::string_view bytes);

}  // namespace tsft::tokenizer
