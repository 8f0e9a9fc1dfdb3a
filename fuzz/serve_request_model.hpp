// The served model of fuzz_serve_request, chosen by the input's byte 0 (bit 0: endpoint, bits 1-2: chat
// template, bits 3-5: context size); shared with the reproducer tests (tests/serve/test_serve_fuzz.cpp).
#pragma once
#include <cstdint>

#include "serve/api.hpp"

namespace tsft::fuzz {

inline bool serve_request_is_chat(uint8_t sel) {
  return sel & 1;
}

inline serve::ModelInfo serve_request_model(uint8_t sel, const tokenizer::Tokenizer* tok) {
  static const char* templates[] = {"chatml", "llama3", "chatml", ""};
  serve::ModelInfo mi;
  mi.name = "m";
  mi.tok = tok;
  mi.chat.add_generation_prompt = true;
  mi.chat.template_name = templates[(sel >> 1) & 3];
  mi.has_chat_template = !mi.chat.template_name.empty();
  mi.max_context = 8 << ((sel >> 3) & 7);
  return mi;
}

}  // namespace tsft::fuzz
