// Chat templates: render a conversation exactly as Hugging Face's apply_chat_template does with the
// checkpoint's own template, and derive the per-token assistant mask used for SFT.
//
// Templates are recognised from their Jinja source (tokenizer_config.json / chat_template.jinja) and
// rendered natively; an unrecognised template is an error that names --chat-template (which overrides
// recognition). Families and their rules:
//   chatml   <|im_start|>{role}\n{content}<|im_end|>\n per message; prompt <|im_start|>assistant\n
//   qwen2    chatml + default system "You are a helpful assistant." when the first message is not system
//   qwen2.5  chatml + default system "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
//   qwen3    chatml + the think-block rule: an assistant turn after the last user query is rendered as
//            <think>\n{reasoning}\n</think>\n\n{answer} when it is the last message or has reasoning
//            (reasoning from reasoning_content or split out of "<think>...</think>" in the content);
//            enable_thinking=false adds an empty think block to the generation prompt; tool turns are
//            wrapped in <tool_response> as the template does
//   llama3   <|begin_of_text|> once, then <|start_header_id|>{role}<|end_header_id|>\n\n{content|trim}
//            <|eot_id|>; the assistant header is appended after the last message when
//            add_generation_prompt is set, or always when the template has no add_generation_prompt
//            test (the quirk of the Llama-3.0 file in the fixtures)
//   llama3.1 llama3 + a system turn that always opens with "Cutting Knowledge Date: December 2023\n
//            Today Date: {date}\n\n" and then the (trimmed) system message; date "26 Jul 2024"
//   llama3.2 llama3.1 with today's date ("%d %b %Y"), as transformers' strftime_now gives it
//
// Assistant mask: 1 for every token that overlaps an assistant message's rendered content (the answer;
// for qwen3, from <think> on when the message carries reasoning, as that is model output too; an empty
// think block inserted by the template is not) and for the end-of-turn token that closes that message;
// 0 elsewhere (headers, user/system turns, template boilerplate, a trailing generation prompt).
// Exactly one BOS appears where the template puts it: the text is encoded without post-processor
// specials.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.hpp"

namespace tsft::tokenizer {

struct ChatMessage {
  std::string role;  // "system", "user", "assistant" ("tool" for qwen3)
  std::string content;
  std::optional<std::string> reasoning_content;  // qwen3 only
};

struct ChatOptions {
  bool add_generation_prompt = false;
  std::optional<bool> enable_thinking;  // qwen3: false adds an empty think block to the prompt
  std::string date_string;              // llama3.1/3.2 "Today Date"; "" = the template's default
  std::string template_name;            // overrides recognition: one of chat_template_names()
};

// Byte range [begin, end) of one assistant message's supervised text in the rendered text, and the
// byte offset of the end-of-turn token that closes it (npos when the template emits none).
struct AssistantSpan {
  size_t begin = 0, end = 0, eot = std::string::npos;
};

struct ChatRendered {
  std::string text;
  std::vector<AssistantSpan> assistant_spans;
  std::vector<int32_t> ids;
  std::vector<uint8_t> assistant_mask;  // per id: 1 = supervised target
};

// Names accepted by ChatOptions::template_name / --chat-template.
const std::vector<std::string>& chat_template_names();
// Family name of a Jinja template source; throws (naming --chat-template) when not recognised.
std::string chat_detect_template(const std::string& jinja_source);
// Text and assistant spans only (no tokenizer needed). `bos`/`family` as resolved by chat_render.
ChatRendered chat_render_text(const std::string& family, const std::vector<ChatMessage>& messages,
                              const ChatOptions& opt, bool always_generation_header = false);
// Full render with ids and mask, using the tokenizer's own template unless opt.template_name is set.
ChatRendered chat_render(const Tokenizer& tok, const std::vector<ChatMessage>& messages,
                         const ChatOptions& opt);
// Mask of `ids` (with `offsets` from encode_with_offsets) for the given spans; see the rule above.
std::vector<uint8_t> chat_assistant_mask(const std::vector<int32_t>& ids,
                                         const std::vector<TokenOffsets>& offsets,
                                         const std::vector<AssistantSpan>& spans, int32_t end_of_turn_id);

}  // namespace tsft::tokenizer
