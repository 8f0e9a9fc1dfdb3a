#include "tokenizer/chat.hpp"

#include <algorithm>
#include <ctime>

#include "core/error.hpp"
#include "tokenizer/text_util.hpp"

namespace tsft::tokenizer {

namespace {

// Python's str.isspace() for one code point (what Jinja's trim and str.strip() remove).
bool py_isspace(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

// Python str.strip()/lstrip()/rstrip(): whitespace when `only_newlines` is false, else only '\n'.
std::string py_strip(std::string_view s, bool left, bool right, bool only_newlines) {
  auto strip_cp = [&](char32_t c) { return only_newlines ? c == U'\n' : py_isspace(c); };
  size_t b = 0, e = s.size();
  if (left)
    while (b < e) {
      size_t i = b;
      if (!strip_cp(text_next_cp(s, i))) break;
      b = i;
    }
  if (right)
    while (e > b) {
      size_t k = e - 1;
      while (k > b && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80) --k;
      size_t i = k;
      if (!strip_cp(text_next_cp(s, i))) break;
      e = k;
    }
  return std::string(s.substr(b, e - b));
}

bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}
bool ends_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

// Output builder that records assistant spans.
struct Out {
  ChatRendered r;
  void add(std::string_view s) { r.text += s; }
  // Append assistant-generated text and remember its range (merged with a span opened just before).
  void add_assistant(std::string_view s) {
    size_t b = r.text.size();
    r.text += s;
    r.assistant_spans.push_back({b, r.text.size(), std::string::npos});
  }
  // Append the end-of-turn token closing the last assistant span.
  void add_eot(std::string_view eot) {
    if (!r.assistant_spans.empty() && r.assistant_spans.back().eot == std::string::npos &&
        r.assistant_spans.back().end == r.text.size())
      r.assistant_spans.back().eot = r.text.size();
    r.text += eot;
  }
};

std::string today_date() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%d %b %Y", &tm);
  return buf;
}

void render_chatml(Out& o, const std::string& family, const std::vector<ChatMessage>& msgs,
                   const ChatOptions& opt) {
  const char* default_system = family == "qwen2" ? "You are a helpful assistant."
                               : family == "qwen2.5"
                                   ? "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
                                   : nullptr;
  if (default_system && (msgs.empty() || msgs[0].role != "system"))
    o.add(std::string("<|im_start|>system\n") + default_system + "<|im_end|>\n");
  for (const ChatMessage& m : msgs) {
    o.add("<|im_start|>" + m.role + "\n");
    if (m.role == "assistant")
      o.add_assistant(m.content);
    else
      o.add(m.content);
    o.add_eot("<|im_end|>");
    o.add("\n");
  }
  if (opt.add_generation_prompt) o.add("<|im_start|>assistant\n");
}

void render_qwen3(Out& o, const std::vector<ChatMessage>& msgs, const ChatOptions& opt) {
  const int n = static_cast<int>(msgs.size());
  if (n > 0 && msgs[0].role == "system") o.add("<|im_start|>system\n" + msgs[0].content + "<|im_end|>\n");
  // Index of the last user message that is not a wrapped tool response.
  int last_query = n - 1;
  for (int i = n - 1; i >= 0; --i) {
    const ChatMessage& m = msgs[i];
    if (m.role == "user" &&
        !(starts_with(m.content, "<tool_response>") && ends_with(m.content, "</tool_response>"))) {
      last_query = i;
      break;
    }
  }
  for (int i = 0; i < n; ++i) {
    const ChatMessage& m = msgs[i];
    if (m.role == "user" || (m.role == "system" && i != 0)) {
      o.add("<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n");
    } else if (m.role == "assistant") {
      std::string content = m.content, reasoning;
      if (m.reasoning_content) {
        reasoning = *m.reasoning_content;
      } else if (size_t close = m.content.find("</think>"); close != std::string::npos) {
        size_t last_close = m.content.rfind("</think>");
        content = py_strip(std::string_view(m.content).substr(last_close + 8), true, false, true);
        std::string before = py_strip(std::string_view(m.content).substr(0, close), false, true, true);
        size_t open = before.rfind("<think>");
        reasoning = py_strip(open == std::string::npos ? before : before.substr(open + 7), true, false, true);
      }
      o.add("<|im_start|>assistant\n");
      if (i > last_query && (i == n - 1 || !reasoning.empty())) {
        std::string block = "<think>\n" + py_strip(reasoning, true, true, true) + "\n</think>\n\n";
        std::string answer = py_strip(content, true, false, true);
        if (reasoning.empty()) {  // template boilerplate: not supervised
          o.add(block);
          o.add_assistant(answer);
        } else {
          o.add_assistant(block + answer);
        }
      } else {
        o.add_assistant(content);
      }
      o.add_eot("<|im_end|>");
      o.add("\n");
    } else if (m.role == "tool") {
      if (i == 0 || msgs[i - 1].role != "tool") o.add("<|im_start|>user");
      o.add("\n<tool_response>\n" + m.content + "\n</tool_response>");
      if (i == n - 1 || msgs[i + 1].role != "tool") o.add("<|im_end|>\n");
    }
  }
  if (opt.add_generation_prompt) {
    o.add("<|im_start|>assistant\n");
    if (opt.enable_thinking && !*opt.enable_thinking) o.add("<think>\n\n</think>\n\n");
  }
}

void render_llama3(Out& o, const std::string& family, const std::vector<ChatMessage>& msgs,
                   const ChatOptions& opt, bool always_header) {
  auto turn = [&](const ChatMessage& m) {
    o.add("<|start_header_id|>" + m.role + "<|end_header_id|>\n\n");
    std::string c = py_strip(m.content, true, true, false);
    if (m.role == "assistant")
      o.add_assistant(c);
    else
      o.add(c);
    o.add_eot("<|eot_id|>");
  };
  // Llama-3.0 puts the BOS before the first message; 3.1/3.2 open with it unconditionally.
  if (family != "llama3" || !msgs.empty()) o.add("<|begin_of_text|>");
  size_t first = 0;
  if (family == "llama3.1" || family == "llama3.2") {
    std::string date = !opt.date_string.empty() ? opt.date_string
                       : family == "llama3.2"   ? today_date()
                                                : std::string("26 Jul 2024");
    std::string system;
    if (!msgs.empty() && msgs[0].role == "system") {
      system = py_strip(msgs[0].content, true, true, false);
      first = 1;
    }
    o.add(
        "<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: " +
        date + "\n\n" + system + "<|eot_id|>");
  }
  for (size_t i = first; i < msgs.size(); ++i) turn(msgs[i]);
  if (opt.add_generation_prompt || always_header) o.add("<|start_header_id|>assistant<|end_header_id|>\n\n");
}

bool contains(const std::string& s, const char* p) {
  return s.find(p) != std::string::npos;
}

}  // namespace

const std::vector<std::string>& chat_template_names() {
  static const std::vector<std::string> names = {"chatml", "qwen2",    "qwen2.5", "qwen3",
                                                 "llama3", "llama3.1", "llama3.2"};
  return names;
}

std::string chat_detect_template(const std::string& src) {
  if (contains(src, "<|im_start|>")) {
    if (contains(src, "</think>") && contains(src, "last_query_index")) return "qwen3";
    if (contains(src, "You are Qwen, created by Alibaba Cloud")) return "qwen2.5";
    if (contains(src, "You are a helpful assistant.")) return "qwen2";
    return "chatml";
  }
  if (contains(src, "<|start_header_id|>")) {
    if (contains(src, "Cutting Knowledge Date"))
      return contains(src, "strftime_now") ? "llama3.2" : "llama3.1";
    return "llama3";
  }
  TSFT_FAIL("chat template not recognised ({} chars, starts {:?}); pass --chat-template with one of: {}",
            src.size(), src.substr(0, 60), fmt::join(chat_template_names(), ", "));
}

ChatRendered chat_render_text(const std::string& family, const std::vector<ChatMessage>& messages,
                              const ChatOptions& opt, bool always_generation_header) {
  TSFT_CHECK(std::find(chat_template_names().begin(), chat_template_names().end(), family) !=
                 chat_template_names().end(),
             "unknown chat template {:?} (one of: {})", family, fmt::join(chat_template_names(), ", "));
  for (size_t i = 0; i < messages.size(); ++i)
    TSFT_CHECK(!messages[i].role.empty(), "chat message {} has an empty role", i);
  Out o;
  if (family == "qwen3")
    render_qwen3(o, messages, opt);
  else if (starts_with(family, "llama3"))
    render_llama3(o, family, messages, opt, always_generation_header);
  else
    render_chatml(o, family, messages, opt);
  return std::move(o.r);
}

std::vector<uint8_t> chat_assistant_mask(const std::vector<int32_t>& ids,
                                         const std::vector<TokenOffsets>& offsets,
                                         const std::vector<AssistantSpan>& spans, int32_t end_of_turn_id) {
  std::vector<uint8_t> mask(ids.size(), 0);
  for (size_t k = 0; k < ids.size(); ++k) {
    auto [b, e] = offsets[k];
    for (const AssistantSpan& sp : spans) {
      bool overlaps = b < sp.end && e > sp.begin;
      bool is_eot = ids[k] == end_of_turn_id && sp.eot == b;
      if (overlaps || is_eot) {
        mask[k] = 1;
        break;
      }
    }
  }
  return mask;
}

ChatRendered chat_render(const Tokenizer& tok, const std::vector<ChatMessage>& messages,
                         const ChatOptions& opt) {
  std::string family = opt.template_name;
  bool always_header = false;
  if (family.empty()) {
    TSFT_CHECK(!tok.chat_template_source().empty(),
               "tokenizer {} has no chat template (tokenizer_config.json / chat_template.jinja); pass "
               "--chat-template with one of: {}",
               tok.path(), fmt::join(chat_template_names(), ", "));
    family = chat_detect_template(tok.chat_template_source());
    always_header = family == "llama3" && !contains(tok.chat_template_source(), "add_generation_prompt");
  }
  ChatRendered r = chat_render_text(family, messages, opt, always_header);
  std::vector<TokenOffsets> offsets;
  r.ids = tok.encode_with_offsets(r.text, offsets);
  int32_t eot = tok.token_to_id(starts_with(family, "llama3") ? "<|eot_id|>" : "<|im_end|>");
  TSFT_CHECK(eot >= 0, "tokenizer {} lacks the end-of-turn token of chat template {}", tok.path(), family);
  r.assistant_mask = chat_assistant_mask(r.ids, offsets, r.assistant_spans, eot);
  return r;
}

}  // namespace tsft::tokenizer
