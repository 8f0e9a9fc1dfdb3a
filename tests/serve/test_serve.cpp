// tsft serve in-process, driven by libcurl: the OpenAI routes, greedy equality with offline generate()
// under concurrency, streaming, stop strings, sampling seeds, every error status, cancellation, drain.
#include <gtest/gtest.h>

#include <atomic>
#include <future>

#include "model/engine.hpp"
#include "model/generate.hpp"
#include "model/lora.hpp"
#include "serve_test_util.hpp"
#include "tokenizer/chat.hpp"

using namespace tsft_test;
using nlohmann::json;

// Named, not anonymous: TEST_F's classes (global scope) derive from the fixture.
namespace serve_test {
class Serve : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    write_serve_model(*dir_ / "model");
    srv_ = new LiveServer(serve_config(*dir_ / "model"));
  }
  static void TearDownTestSuite() {
    delete srv_;
    delete dir_;
  }
  static TempDir* dir_;
  static LiveServer* srv_;
  static std::string model() { return *dir_ / "model"; }
  static json chat(const std::string& user, json extra = json::object()) {
    json b = {{"model", "model"}, {"messages", {{{"role", "user"}, {"content", user}}}}};
    b.update(extra);
    return b;
  }
  // Offline reference: the same prompt through generate() as `tsft generate` runs it (greedy).
  static std::vector<tsft::GenResult> offline(const std::vector<std::string>& users, int max_new,
                                              tsft::SamplingParams sp = {}) {
    auto eng = tsft::engine_create({}, tsft::model_load(model()));
    tsft::tokenizer::Tokenizer tok(model() + "/tokenizer.json");
    tsft::tokenizer::ChatOptions co;
    co.add_generation_prompt = true;
    std::vector<std::vector<int32_t>> ps;
    for (auto& u : users)
      ps.push_back(tsft::tokenizer::chat_render(tok, {{"user", u, std::nullopt}}, co).ids);
    tsft::GenOptions g;
    g.max_new_tokens = max_new;
    g.sampling = sp;
    g.stop_ids = {tok.end_of_turn_id()};
    return tsft::generate(*eng, ps, g);
  }
  static std::string decode(const std::vector<int32_t>& ids) {
    return tsft::tokenizer::Tokenizer(model() + "/tokenizer.json").decode(ids, true);
  }
};
TempDir* Serve::dir_ = nullptr;
LiveServer* Serve::srv_ = nullptr;

json ok_json(const tsft::net::HttpResponse& r) {
  EXPECT_EQ(r.status, 200) << r.body << r.error;
  return json::parse(r.body);
}
}  // namespace serve_test
using namespace serve_test;

TEST_F(Serve, HealthAndModels) {
  auto h = get(srv_->url("/health"));
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(json::parse(h.body)["status"], "ok");
  auto m = ok_json(get(srv_->url("/v1/models")));
  EXPECT_EQ(m["object"], "list");
  EXPECT_EQ(m["data"][0]["id"], "model");
  auto nf = get(srv_->url("/v1/nothing"));
  EXPECT_EQ(nf.status, 404);
  EXPECT_TRUE(json::parse(nf.body).contains("error"));
}

TEST_F(Serve, GreedyEqualsOfflineGenerateUnderConcurrency) {
  std::vector<std::string> users;
  for (int i = 0; i < 10; i++)
    users.push_back("What is " + std::to_string(i * 7) + "+" + std::to_string(i) + "?");
  users.push_back(std::string(70, 'x') + " a prompt longer than the first prefill plan (64 positions)");
  auto ref = offline(users, 40);
  std::vector<std::future<tsft::net::HttpResponse>> fs;
  for (auto& u : users)  // 10 concurrent requests through 4 slots: continuous batching mixes them
    fs.push_back(std::async(std::launch::async, [&, u] {
      return post(srv_->url("/v1/chat/completions"),
                  chat(u, {{"max_tokens", 40}, {"temperature", 0}, {"logprobs", true}}).dump());
    }));
  for (size_t i = 0; i < users.size(); i++) {
    json r = ok_json(fs[i].get());
    std::string expect = decode(ref[i].tokens);
    EXPECT_EQ(r["choices"][0]["message"]["content"], expect) << users[i];
    EXPECT_EQ(r["usage"]["completion_tokens"], ref[i].tokens.size());
    auto& lp = r["choices"][0]["logprobs"]["content"];
    ASSERT_EQ(lp.size(), ref[i].tokens.size());
    for (size_t k = 0; k < lp.size(); k++)  // token for token (byte tokens: the token's bytes name its id)
      EXPECT_EQ(lp[k]["bytes"].size() == 1 ? (int)lp[k]["bytes"][0] : -1,
                ref[i].tokens[k] < 256 ? ref[i].tokens[k] : -1);
    EXPECT_EQ(r["choices"][0]["finish_reason"], ref[i].finish_reason == "length" ? "length" : "stop");
  }
}

// Content as an array of text parts (the OpenAI form) is the concatenation of the parts.
TEST_F(Serve, TextPartsEqualThePlainString) {
  json parts = json::array({{{"type", "text"}, {"text", "What is 3"}}, {{"type", "text"}, {"text", "+4?"}}});
  json b = {{"model", "model"},
            {"messages", json::array({{{"role", "user"}, {"content", parts}}})},
            {"max_tokens", 12},
            {"temperature", 0}};
  json r = ok_json(post(srv_->url("/v1/chat/completions"), b.dump()));
  EXPECT_EQ(r["choices"][0]["message"]["content"], decode(offline({"What is 3+4?"}, 12)[0].tokens));
}

TEST_F(Serve, StreamingConcatenatesToTheSameText) {
  json b = chat("stream me", {{"max_tokens", 30}, {"temperature", 0}});
  std::string whole =
      ok_json(post(srv_->url("/v1/chat/completions"), b.dump()))["choices"][0]["message"]["content"];
  b["stream"] = true;
  b["stream_options"] = {{"include_usage", true}};
  auto r = post(srv_->url("/v1/chat/completions"), b.dump());
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.headers["content-type"].find("text/event-stream"), std::string::npos);
  auto ev = sse_events(r.body);
  ASSERT_GE(ev.size(), 3u);
  EXPECT_EQ(ev.back(), "[DONE]");
  std::string text, finish;
  for (size_t i = 0; i + 1 < ev.size(); i++) {
    EXPECT_EQ(ev[i]["object"], "chat.completion.chunk");
    if (ev[i]["choices"].empty()) continue;  // the usage chunk
    auto& c = ev[i]["choices"][0];
    if (c["delta"].contains("content")) text += c["delta"]["content"].get<std::string>();
    if (!c["finish_reason"].is_null()) finish = c["finish_reason"];
  }
  EXPECT_EQ(ev[0]["choices"][0]["delta"]["role"], "assistant");
  EXPECT_EQ(text, whole);
  EXPECT_FALSE(finish.empty());
  EXPECT_TRUE(ev[ev.size() - 2].contains("usage"));
}

TEST_F(Serve, CompletionsStopAndLogprobs) {
  json b = {{"model", "model"}, {"prompt", "abc"}, {"max_tokens", 30}, {"temperature", 0}, {"logprobs", 2}};
  json r = ok_json(post(srv_->url("/v1/completions"), b.dump()));
  std::string text = r["choices"][0]["text"];
  EXPECT_EQ(r["object"], "text_completion");
  EXPECT_EQ(r["usage"]["prompt_tokens"], 3);
  auto& lp = r["choices"][0]["logprobs"];
  ASSERT_EQ(lp["tokens"].size(), r["usage"]["completion_tokens"].get<size_t>());
  for (size_t k = 0; k < lp["token_logprobs"].size(); k++) {
    EXPECT_LE(lp["token_logprobs"][k].get<double>(), 0.0);
    EXPECT_EQ(lp["top_logprobs"][k].size() <= 2, true);
  }
  ASSERT_GE(text.size(), 8u) << "the tiny model should produce some bytes";
  size_t at = 4;  // one whole UTF-8 character of the output as the stop string
  while (at < text.size() && ((unsigned char)text[at] & 0xC0) == 0x80) at++;
  size_t len = 1;
  while (at + len < text.size() && ((unsigned char)text[at + len] & 0xC0) == 0x80) len++;
  std::string stop = text.substr(at, len);
  size_t cut = text.find(stop);
  b["stop"] = {stop};
  json s = ok_json(post(srv_->url("/v1/completions"), b.dump()));
  EXPECT_EQ(s["choices"][0]["text"], text.substr(0, cut));
  EXPECT_EQ(s["choices"][0]["finish_reason"], "stop");
  b["stream"] = true;  // the streamed text must never leak the stop string
  auto st = post(srv_->url("/v1/completions"), b.dump());
  std::string streamed;
  for (auto& e : sse_events(st.body))
    if (e.is_object() && !e["choices"].empty()) streamed += e["choices"][0]["text"].get<std::string>();
  EXPECT_EQ(streamed, text.substr(0, cut));
  b.erase("stop");  // streamed logprobs, chunk by chunk, add up to the whole response's
  auto all = post(srv_->url("/v1/completions"), b.dump());
  json tokens = json::array(), offsets = json::array();
  for (auto& e : sse_events(all.body))
    if (e.is_object() && !e["choices"].empty() && e["choices"][0]["logprobs"].is_object())
      for (size_t k = 0; k < e["choices"][0]["logprobs"]["tokens"].size(); k++) {
        tokens.push_back(e["choices"][0]["logprobs"]["tokens"][k]);
        offsets.push_back(e["choices"][0]["logprobs"]["text_offset"][k]);
      }
  EXPECT_EQ(tokens, lp["tokens"]);
  EXPECT_EQ(offsets, lp["text_offset"]);
}

TEST_F(Serve, SeededSamplingIsReproducibleAndMatchesOffline) {
  json b = chat("sample", {{"max_tokens", 20}, {"temperature", 1.0}, {"top_p", 0.9}, {"seed", 42}, {"n", 2}});
  json a = ok_json(post(srv_->url("/v1/chat/completions"), b.dump()));
  json c = ok_json(post(srv_->url("/v1/chat/completions"), b.dump()));
  ASSERT_EQ(a["choices"].size(), 2u);
  EXPECT_EQ(a["choices"], c["choices"]);
  auto ref = offline({"sample"}, 20, {1.0, 0, 0.9, 42});  // choice 0 = prompt index 0 of generate()
  EXPECT_EQ(a["choices"][0]["message"]["content"], decode(ref[0].tokens));
}

TEST_F(Serve, BadInputGetsOpenAiErrors) {
  auto expect_error = [&](const std::string& body, long status, const std::string& param = "") {
    auto r = post(srv_->url("/v1/chat/completions"), body);
    EXPECT_EQ(r.status, status) << body;
    json j = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(j.is_object() && j.contains("error")) << r.body;
    EXPECT_TRUE(j["error"]["message"].is_string());
    if (!param.empty()) {
      EXPECT_EQ(j["error"]["param"], param) << body;
    }
  };
  expect_error("{not json", 400);
  expect_error("[1,2]", 400);
  expect_error(chat("x", {{"model", "gpt-9"}}).dump(), 404, "model");
  expect_error(chat("x", {{"temperature", "hot"}}).dump(), 400, "temperature");
  expect_error(chat("x", {{"temperature", 3}}).dump(), 400, "temperature");
  expect_error(chat("x", {{"max_tokens", 0}}).dump(), 400, "max_tokens");
  expect_error(chat("x", {{"max_tokens", 1.5}}).dump(), 400, "max_tokens");
  expect_error(chat("x", {{"n", 0}}).dump(), 400, "n");
  expect_error(chat("x", {{"stop", {1, 2}}}).dump(), 400, "stop");
  expect_error(chat("x", {{"presence_penalty", 1}}).dump(), 400, "presence_penalty");
  expect_error(json{{"model", "model"}, {"messages", "hi"}}.dump(), 400, "messages");
  expect_error(json{{"model", "model"}, {"messages", {{{"role", "wizard"}, {"content", "x"}}}}}.dump(), 400);
  expect_error(chat(std::string(300, 'a')).dump(), 400, "messages");  // longer than the 256-token context
  // Content parts: only {"type": "text", "text": <string>}. A non-string "type" was a non-ApiError
  // exception (fuzz/regressions/serve_request/content-part-type-not-a-string).
  for (json type : {json(9223372036854775808ULL), json(1), json(nullptr), json::array({"text"})}) {
    json part = {{"type", type}, {"text", "x"}};
    json b = {{"model", "model"},
              {"messages", json::array({{{"role", "user"}, {"content", json::array({part})}}})}};
    expect_error(b.dump(), 400, "messages[0].content");
  }
  auto big = post(srv_->url("/v1/chat/completions"), chat(std::string(2 << 20, 'a')).dump());
  EXPECT_EQ(big.status, 413);
  EXPECT_TRUE(json::parse(big.body).contains("error"));
  auto r = post(srv_->url("/v1/chat/completions"), chat(std::string(300, 'a')).dump());
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "context_length_exceeded");
}

// Strict request bodies: an unknown top-level field is a 400 naming it and the closest known field; the
// standard OpenAI fields this server ignores (user, metadata, store, service_tier, parallel_tool_calls,
// tool_choice "none"/"auto") are accepted, with their types checked.
TEST_F(Serve, UnknownFieldsAreRefusedByName) {
  auto error_of = [&](const std::string& route, const json& body) {
    auto r = post(srv_->url(route), body.dump());
    EXPECT_EQ(r.status, 400) << body.dump() << " -> " << r.body;
    json j = json::parse(r.body, nullptr, false);
    return j.is_object() && j.contains("error") ? j["error"] : json();
  };
  json e = error_of("/v1/chat/completions", chat("x", {{"temprature", 0}}));
  EXPECT_EQ(e["param"], "temprature");
  EXPECT_NE(e["message"].get<std::string>().find("did you mean temperature?"), std::string::npos) << e;
  EXPECT_EQ(e["type"], "invalid_request_error");
  e = error_of("/v1/chat/completions", chat("x", {{"max_token", 4}}));
  EXPECT_NE(e["message"].get<std::string>().find("did you mean max_tokens?"), std::string::npos) << e;
  e = error_of("/v1/completions", {{"model", "model"}, {"prompt", "x"}, {"echo", false}, {"ecko", true}});
  EXPECT_EQ(e["param"], "ecko");
  e = error_of("/v1/completions", {{"model", "model"}, {"prompt", "x"}, {"top_logprobs", 2}});  // chat-only
  EXPECT_EQ(e["param"], "top_logprobs");
  e = error_of("/v1/chat/completions",
               chat("x", {{"stream", true}, {"stream_options", {{"include_usgae", true}}}}));
  EXPECT_EQ(e["param"], "stream_options.include_usgae");
  EXPECT_NE(e["message"].get<std::string>().find("include_usage"), std::string::npos) << e;
  EXPECT_EQ(error_of("/v1/chat/completions", chat("x", {{"user", 7}}))["param"], "user");
  EXPECT_EQ(error_of("/v1/chat/completions", chat("x", {{"tool_choice", "required"}}))["param"],
            "tool_choice");
  EXPECT_EQ(error_of("/v1/completions", {{"model", "model"}, {"prompt", "x"}, {"suffix", "!"}})["param"],
            "suffix");
  json ignored = {{"user", "u-1"},
                  {"metadata", {{"k", "v"}}},
                  {"store", false},
                  {"service_tier", "auto"},
                  {"parallel_tool_calls", true},
                  {"tool_choice", "none"},
                  {"frequency_penalty", 0},
                  {"max_tokens", 2}};
  ok_json(post(srv_->url("/v1/chat/completions"), chat("x", ignored).dump()));
}

TEST(ServeCancel, DisconnectMidStreamFreesTheSlot) {
  TempDir t;  // 1000 tokens of the slow model outlast the hang-up by far
  write_slow_model(t / "model");
  auto c = serve_config(t / "model");
  c.max_context = 1024;
  c.max_batch = 1;
  LiveServer s(c);
  tsft::net::HttpRequest req;
  req.url = s.url("/v1/completions");
  req.headers = {"Content-Type: application/json"};
  req.body =
      json{{"model", "model"}, {"prompt", "x"}, {"max_tokens", 1000}, {"temperature", 0}, {"stream", true}}
          .dump();
  int pieces = 0;
  req.on_data = [&](const char*, size_t) { return ++pieces < 3; };  // hang up after a few events
  auto r = tsft::net::http_request(req);
  EXPECT_TRUE(r.aborted) << r.error;
  for (int i = 0; i < 500 && s.server->stats().sched.active > 0; i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  auto st = s.server->stats().sched;
  EXPECT_EQ(st.active, 0);
  EXPECT_EQ(st.cancelled, 1);
  EXPECT_LT(st.new_tokens, 1000) << "the sequence ran to its end instead of leaving at the hang-up";
  // The freed slot serves the next request.
  auto next =
      post(s.url("/v1/completions"), json{{"model", "model"}, {"prompt", "y"}, {"max_tokens", 3}}.dump());
  EXPECT_EQ(next.status, 200);
}

TEST(ServeAuth, MissingOrWrongKeyIs401) {
  TempDir t;
  write_serve_model(t / "model");
  auto c = serve_config(t / "model");
  c.api_key = "sekret";
  LiveServer s(c);
  json b = {{"model", "model"}, {"prompt", "a"}, {"max_tokens", 2}};
  EXPECT_EQ(post(s.url("/v1/completions"), b.dump()).status, 401);
  auto wrong = post(s.url("/v1/completions"), b.dump(), {"Authorization: Bearer nope"});
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(json::parse(wrong.body)["error"]["code"], "invalid_api_key");
  EXPECT_EQ(post(s.url("/v1/completions"), b.dump(), {"Authorization: Bearer sekret"}).status, 200);
  EXPECT_EQ(get(s.url("/health")).status, 200);  // health needs no key
}

TEST(ServeQueue, FullQueueIs429WithRetryAfterAndDrainFinishesInFlight) {
  TempDir t;  // the slow model: one request holds the slot for >= 0.1 s while the other five arrive
  write_slow_model(t / "model");
  auto c = serve_config(t / "model");
  c.max_batch = 1;
  c.max_queue = 1;
  c.max_context = 512;
  auto s = std::make_unique<LiveServer>(c);
  json b = {{"model", "model"}, {"prompt", "q"}, {"max_tokens", 150}, {"temperature", 0}};
  std::vector<std::future<tsft::net::HttpResponse>> fs;
  for (int i = 0; i < 6; i++)
    fs.push_back(std::async(std::launch::async, [&] { return post(s->url("/v1/completions"), b.dump()); }));
  int ok = 0, limited = 0;
  for (auto& f : fs) {
    auto r = f.get();
    if (r.status == 200) ok++;
    if (r.status == 429) {
      limited++;
      EXPECT_EQ(r.headers["retry-after"], "1");
      EXPECT_EQ(json::parse(r.body)["error"]["type"], "rate_limit_error");
    }
  }
  EXPECT_EQ(ok + limited, 6);
  EXPECT_GE(ok, 1);
  EXPECT_GE(limited, 1) << "one running + one queued: the rest must be refused";
  // Drain: a request in flight when draining starts still completes with 200.
  const int64_t jobs = s->server->stats().sched.jobs;  // read before the request can be admitted
  auto inflight = std::async(std::launch::async, [&] { return post(s->url("/v1/completions"), b.dump()); });
  while (s->server->stats().sched.jobs == jobs) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  s.reset();  // drain_and_stop + join
  EXPECT_EQ(inflight.get().status, 200);
}

// --adapter: the server runs base + LoRA adapter, token for token what offline generation of the adapted
// model gives, and not what the base gives (the adapter's B is non-zero).
TEST(ServeAdapter, ServesBasePlusAdapter) {
  TempDir d;
  write_serve_model(d / "model");
  tsft::Model m = tsft::model_load(d / "model");
  tsft::LoraConfig lc;
  lc.r = 4;
  lc.alpha = 8;
  lc.targets = tsft::lora_targets(
      m.table, [](const tsft::TensorEntry&) { return true; }, "all");
  tsft::lora_attach(m, lc, 5);
  tsft::Xoshiro rng(6);
  tsft::for_each_tensor(m, [&](const tsft::TensorEntry& e, tsft::TensorRef<float> r) {
    if (e.name.find("lora_B") != std::string::npos)
      for (size_t i = 0; i < e.numel; i++) r.w[i] = (float)(0.5 * rng.normal());
  });
  tsft::adapter_save(m, d / "adapter", d / "model");
  tsft::tokenizer::Tokenizer tok(d / "model/tokenizer.json");
  tsft::tokenizer::ChatOptions co;
  co.add_generation_prompt = true;
  std::vector<std::vector<int32_t>> ps = {
      tsft::tokenizer::chat_render(tok, {{"user", "What is 3+4?", std::nullopt}}, co).ids};
  tsft::GenOptions g;
  g.max_new_tokens = 24;
  g.stop_ids = {tok.end_of_turn_id()};
  auto adapted = tsft::engine_create({}, tsft::model_load_adapted(d / "model", d / "adapter"));
  auto base = tsft::engine_create({}, tsft::model_load(d / "model"));
  const std::string want = tok.decode(tsft::generate(*adapted, ps, g)[0].tokens, true);
  const std::string base_text = tok.decode(tsft::generate(*base, ps, g)[0].tokens, true);
  EXPECT_NE(want, base_text) << "the adapter should change the greedy continuation";
  tsft::serve::ServeConfig c = serve_config(d / "model");
  c.adapter_dir = d / "adapter";
  LiveServer srv(c);
  json body = {{"model", "model"},
               {"messages", {{{"role", "user"}, {"content", "What is 3+4?"}}}},
               {"max_tokens", 24},
               {"temperature", 0}};
  auto r = post(srv.url("/v1/chat/completions"), body.dump());
  ASSERT_EQ(r.status, 200) << r.body << r.error;
  EXPECT_EQ(json::parse(r.body)["choices"][0]["message"]["content"], want);
}
