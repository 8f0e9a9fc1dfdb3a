// Chat templates: recognition of a template source (chat_detect_template) and rendering of arbitrary
// conversations with every supported family, tokenized with a small real tokenizer (assistant mask).
// Input: byte 0 picks the family and options; the rest is the template source for recognition and,
// split into lines "role:content" (a tab starts reasoning_content), the conversation.
#include <string>
#include <vector>

#include "tokenizer/chat.hpp"
#include "util.hpp"

namespace {
using namespace tsft::tokenizer;

const Tokenizer& small_tokenizer() {
  static const Tokenizer tok(std::string(TSFT_SOURCE_DIR) + "/fuzz/data/chat_tokenizer.json");
  return tok;
}

ChatMessage parse_line(std::string_view line) {
  ChatMessage m;
  size_t colon = line.find(':');
  m.role = std::string(line.substr(0, colon));
  if (colon == std::string_view::npos) return m;
  std::string_view rest = line.substr(colon + 1);
  size_t tab = rest.find('\t');
  m.content = std::string(rest.substr(0, tab));
  if (tab != std::string_view::npos) m.reasoning_content = std::string(rest.substr(tab + 1));
  return m;
}

std::vector<ChatMessage> parse_messages(std::string_view text) {
  std::vector<ChatMessage> out;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    out.push_back(parse_line(text.substr(0, nl)));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
  }
  return out;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const auto& names = chat_template_names();
  ChatOptions opt;
  opt.template_name = names[data[0] % names.size()];
  opt.add_generation_prompt = data[0] & 0x10;
  if (data[0] & 0x20) opt.enable_thinking = (data[0] & 0x40) != 0;
  if (data[0] & 0x80) opt.date_string = "26 Jul 2024";
  std::string text(tsft::fuzz::bytes(data + 1, size - 1));
  try {
    chat_detect_template(text);
  } catch (const tsft::Error&) {
  }
  tsft::fuzz::expect_clean("chat", [&] {
    ChatRendered r = chat_render(small_tokenizer(), parse_messages(text), opt);
    if (r.assistant_mask.size() != r.ids.size()) tsft::fuzz::finding("mask and ids differ in length", "");
    for (const AssistantSpan& s : r.assistant_spans)
      if (s.begin > s.end || s.end > r.text.size()) tsft::fuzz::finding("assistant span out of the text", "");
  });
  return 0;
}
