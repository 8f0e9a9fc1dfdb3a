// Chat templates against transformers' apply_chat_template (fixtures chat_cases.jsonl for Qwen3 and
// Llama-3.0): exact text and ids, assistant mask = tokens of the assistant content spans + the
// end-of-turn token, one BOS. Plus the rules of the families the fixtures do not cover.
#include "core/error.hpp"
#include "tok_test_util.hpp"
#include "tokenizer/chat.hpp"

namespace tsft::tokenizer::testing {
namespace {

std::vector<ChatMessage> to_messages(const nlohmann::json& j) {
  std::vector<ChatMessage> out;
  for (const auto& m : j) out.push_back({m["role"].get<std::string>(), m["content"].get<std::string>(), {}});
  return out;
}

// Byte offset of code point index `cp` in UTF-8 `s` (Python string offsets in the fixtures).
size_t byte_offset(const std::string& s, size_t cp) {
  size_t i = 0;
  for (size_t n = 0; n < cp && i < s.size(); ++n) text_next_cp(s, i);
  return i;
}

class ChatFixtures : public ::testing::TestWithParam<std::string> {};

TEST_P(ChatFixtures, RenderIdsAndMaskMatchTransformers) {
  const std::string name = GetParam();
  const Tokenizer& tok = fixture_tokenizer(name);
  auto cases = read_jsonl(fixtures_dir() + "/" + name + "/chat_cases.jsonl");
  ASSERT_EQ(cases.size(), 8u);
  int ok = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    ChatOptions opt;
    opt.add_generation_prompt = c["add_generation_prompt"].get<bool>();
    ChatRendered r = chat_render(tok, to_messages(c["messages"]), opt);
    std::string text = c["text"].get<std::string>();
    auto want_ids = c["ids"].get<std::vector<int32_t>>();
    EXPECT_EQ(r.text, text) << name << " case " << i;
    EXPECT_EQ(r.ids, want_ids) << name << " case " << i;
    // Expected mask from the fixture's own token offsets and assistant character spans.
    std::vector<uint8_t> want_mask(want_ids.size(), 0);
    const auto& offs = c["offsets"];
    std::vector<std::pair<size_t, size_t>> spans;
    for (const auto& sp : c["assistant_content_char_spans"])
      spans.emplace_back(byte_offset(text, sp[0].get<size_t>()), byte_offset(text, sp[1].get<size_t>()));
    for (size_t k = 0; k < want_ids.size(); ++k) {
      size_t b = byte_offset(text, offs[k][0].get<size_t>()), e = byte_offset(text, offs[k][1].get<size_t>());
      for (auto [sb, se] : spans) {
        if (b < se && e > sb) want_mask[k] = 1;
        if (b == se && want_ids[k] == tok.end_of_turn_id()) want_mask[k] = 1;
      }
    }
    EXPECT_EQ(r.assistant_mask, want_mask) << name << " case " << i;
    // The mask is not trivially empty where there are assistant turns, and ends on end-of-turn tokens.
    size_t n_eot = 0;
    for (size_t k = 0; k < r.ids.size(); ++k)
      n_eot += r.assistant_mask[k] && r.ids[k] == tok.end_of_turn_id();
    EXPECT_EQ(n_eot, spans.size()) << name << " case " << i;
    // Exactly one BOS for Llama (the template's own), none added for Qwen.
    long n_bos = tok.bos_id() < 0 ? 0 : std::count(r.ids.begin(), r.ids.end(), tok.bos_id());
    EXPECT_EQ(n_bos, name == "llama3" ? 1 : 0) << name << " case " << i;
    if (name == "llama3") {
      EXPECT_EQ(r.ids.front(), tok.bos_id());
    }
    ok += r.text == text && r.ids == want_ids && r.assistant_mask == want_mask;
  }
  std::printf("[%s] %d/%zu chat cases exact (text, ids, mask)\n", name.c_str(), ok, cases.size());
}

INSTANTIATE_TEST_SUITE_P(Tokenizers, ChatFixtures, ::testing::Values("qwen3", "llama3"));

TEST(ChatTemplate, DetectsFamiliesFromTemplateSources) {
  EXPECT_EQ(chat_detect_template(fixture_tokenizer("qwen3").chat_template_source()), "qwen3");
  EXPECT_EQ(chat_detect_template(fixture_tokenizer("llama3").chat_template_source()), "llama3");
  EXPECT_EQ(chat_detect_template("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
                                 "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"),
            "chatml");
  EXPECT_EQ(chat_detect_template("...You are Qwen, created by Alibaba Cloud...<|im_start|>"), "qwen2.5");
  EXPECT_EQ(chat_detect_template("<|start_header_id|> Cutting Knowledge Date"), "llama3.1");
  EXPECT_EQ(chat_detect_template("<|start_header_id|> Cutting Knowledge Date strftime_now"), "llama3.2");
  EXPECT_THROW(chat_detect_template("{{ messages }}"), tsft::Error);
}

TEST(ChatTemplate, Qwen3ThinkBlockRules) {
  ChatOptions opt;
  // Reasoning inside the content is split out; an earlier assistant turn (before the last query) is
  // rendered without its reasoning.
  std::vector<ChatMessage> msgs = {{"user", "q1", {}},
                                   {"assistant", "<think>\nr1\n</think>\n\na1", {}},
                                   {"user", "q2", {}},
                                   {"assistant", "<think>r2</think>a2", {}}};
  ChatRendered r = chat_render_text("qwen3", msgs, opt);
  EXPECT_EQ(
      r.text,
      "<|im_start|>user\nq1<|im_end|>\n<|im_start|>assistant\na1<|im_end|>\n<|im_start|>user\nq2<|im_end|>\n"
      "<|im_start|>assistant\n<think>\nr2\n</think>\n\na2<|im_end|>\n");
  ASSERT_EQ(r.assistant_spans.size(), 2u);
  EXPECT_EQ(r.text.substr(r.assistant_spans[1].begin, r.assistant_spans[1].end - r.assistant_spans[1].begin),
            "<think>\nr2\n</think>\n\na2");  // reasoning is model output: supervised
  EXPECT_EQ(r.text.substr(r.assistant_spans[1].eot, 10), "<|im_end|>");
  opt.add_generation_prompt = true;
  opt.enable_thinking = false;
  r = chat_render_text("qwen3", {{"user", "q", {}}}, opt);
  EXPECT_EQ(r.text, "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
}

TEST(ChatTemplate, QwenDefaultSystemAndLlama31Header) {
  ChatOptions opt;
  opt.add_generation_prompt = true;
  std::vector<ChatMessage> msgs = {{"user", "hi", {}}};
  EXPECT_EQ(
      chat_render_text("qwen2.5", msgs, opt).text,
      "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
      "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(chat_render_text("qwen2", msgs, opt).text,
            "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n"
            "<|im_start|>assistant\n");
  EXPECT_EQ(chat_render_text("chatml", msgs, opt).text,
            "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
  std::vector<ChatMessage> sys = {
      {"system", " Be brief. ", {}}, {"user", "hi ", {}}, {"assistant", " yo", {}}};
  opt.add_generation_prompt = false;
  ChatRendered r = chat_render_text("llama3.1", sys, opt);
  EXPECT_EQ(
      r.text,
      "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December "
      "2023\nToday Date: 26 Jul 2024\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nhi"
      "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nyo<|eot_id|>");
  // Llama-3.0: the assistant header follows the last turn only with add_generation_prompt, unless the
  // template has no such test (always_generation_header, the fixture file's quirk).
  std::vector<ChatMessage> qa = {{"user", "q", {}}, {"assistant", "a", {}}};
  EXPECT_EQ(
      chat_render_text("llama3", qa, opt).text,
      "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nq<|eot_id|><|start_header_id|>assistant"
      "<|end_header_id|>\n\na<|eot_id|>");
  EXPECT_TRUE(chat_render_text("llama3", qa, opt, true)
                  .text.ends_with("a<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"));
  opt.date_string = "01 Jan 2025";
  EXPECT_NE(chat_render_text("llama3.2", sys, opt).text.find("Today Date: 01 Jan 2025\n\n"),
            std::string::npos);
}

TEST(ChatTemplate, OverrideAndOneBosWithLlamaTokenizer) {
  const Tokenizer& tok = fixture_tokenizer("llama3");
  ChatOptions opt;
  opt.template_name = "llama3.1";
  ChatRendered r = chat_render(tok, {{"user", "2+2?", {}}, {"assistant", "4", {}}}, opt);
  EXPECT_EQ(std::count(r.ids.begin(), r.ids.end(), tok.bos_id()), 1);
  EXPECT_EQ(r.ids.front(), tok.bos_id());
  // Masked: "4" and <|eot_id|>, nothing else.
  std::vector<int32_t> supervised;
  for (size_t k = 0; k < r.ids.size(); ++k)
    if (r.assistant_mask[k]) supervised.push_back(r.ids[k]);
  EXPECT_EQ(tok.decode(supervised), "4<|eot_id|>");
  opt.template_name = "nonsense";
  EXPECT_THROW(chat_render(tok, {{"user", "x", {}}}, opt), tsft::Error);
}

}  // namespace
}  // namespace tsft::tokenizer::testing
