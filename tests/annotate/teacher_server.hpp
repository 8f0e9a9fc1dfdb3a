// A scripted teacher: an OpenAI-compatible /v1/chat/completions on 127.0.0.1 whose answer depends on the
// "Case <name>:" tag of the problem in the prompt:
//   valid       a valid annotation           wrong       \boxed{35} (the answer is 34), every time
//   unknown     names a theorem not in the catalog        unparsable  prose
//   map         a Map value found nowhere    fixed       wrong first, valid once re-asked
//   timeout     first request outlasts the client's timeout, then valid
//   ratelimit   first request 429 (Retry-After 0), then valid
//   down        HTTP 500 while `down` is set (the default), else valid
//   reaskdown   wrong first; a re-ask gets HTTP 500 while `reask_down` is set, else valid
//   gone        HTTP 404 (as for an unknown model name)
// Every response can be delayed by `delay_s`. The requests it received are kept (per case) for checks.
#pragma once
#include <httplib.h>

#include <atomic>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace tsft_test {

inline std::string teacher_question(const std::string& c) {
  return "Case " + c +
         ": A baker fills 6 trays with 14 rolls each and sells 50 rolls. How many rolls are left?";
}

// GSM8K records, one per case.
inline std::string teacher_dataset(const std::vector<std::string>& cases) {
  std::string s;
  for (auto& c : cases)
    s += nlohmann::json{{"question", teacher_question(c)},
                        {"answer",
                         "The baker makes 6 * 14 = <<6*14=84>>84 rolls.\n84 - 50 = <<84-50=34>>34 rolls "
                         "are left.\n#### 34"}}
             .dump() +
         "\n";
  return s;
}

inline std::string teacher_valid_answer() {
  return "Step 1.\nTheorem: Total of equal groups.\nCond: every tray holds the same number of rolls: holds.\n"
         "Map: n = number of trays = 6\nMap: k = rolls per tray = 14\n6 * 14 = 84 rolls.\nStep 2.\n"
         "Theorem: Remainder after removal.\nCond: 50 is at most 84: holds.\nMap: T = 84 (from step 1)\n"
         "Map: r = 50\n84 - 50 = 34 rolls are left.\n\\boxed{34}";
}

struct TeacherServer {
  httplib::Server http;
  std::thread th;
  int port = 0;
  double delay_s = 0, timeout_sleep_s = 1.5;
  std::atomic<bool> reask_down{true}, down{true};
  std::mutex mu;
  std::map<std::string, std::vector<nlohmann::json>> requests;  // case -> request bodies

  TeacherServer() {
    http.Post("/v1/chat/completions",
              [this](const httplib::Request& req, httplib::Response& res) { handle(req, res); });
    port = http.bind_to_any_port("127.0.0.1");
    th = std::thread([this] { http.listen_after_bind(); });
  }
  ~TeacherServer() {
    http.stop();
    th.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port) + "/v1"; }
  size_t count(const std::string& c) {
    std::lock_guard<std::mutex> lk(mu);
    return requests[c].size();
  }
  size_t total() {
    std::lock_guard<std::mutex> lk(mu);
    size_t n = 0;
    for (auto& [c, v] : requests) n += v.size();
    return n;
  }

 private:
  static std::string case_of(const nlohmann::json& body) {
    for (auto& m : body["messages"]) {
      std::string s = m["content"];
      size_t p = s.find("Case ");
      if (m["role"] == "user" && p != std::string::npos) return s.substr(p + 5, s.find(':', p) - p - 5);
    }
    return "?";
  }

  std::string answer(const std::string& c, size_t k, const nlohmann::json& body) {
    std::string v = teacher_valid_answer();
    if (c == "wrong" || ((c == "fixed" || c == "reaskdown") && body["messages"].size() <= 2))
      return v.replace(v.find("\\boxed{34}"), 10, "\\boxed{35}");
    if (c == "unknown") return v.replace(v.find("Total of equal groups"), 21, "Grouping lemma");
    if (c == "unparsable") return "The baker has 34 rolls left.";
    if (c == "map") return v.replace(v.find("= 14"), 4, "= 15");
    return v;
  }

  void handle(const httplib::Request& req, httplib::Response& res) {
    nlohmann::json body = nlohmann::json::parse(req.body);
    std::string c = case_of(body);
    size_t k;
    {
      std::lock_guard<std::mutex> lk(mu);
      k = requests[c].size();
      requests[c].push_back(body);
    }
    if (delay_s > 0) std::this_thread::sleep_for(std::chrono::duration<double>(delay_s));
    if (c == "gone") {
      res.status = 404;
      return res.set_content(R"({"error":{"message":"The model does not exist"}})", "application/json");
    }
    bool reask = body["messages"].size() > 2;
    if ((c == "down" && down) || (c == "ratelimit" && k == 0) || (c == "reaskdown" && reask && reask_down)) {
      res.status = c == "ratelimit" ? 429 : 500;
      res.set_header("Retry-After", "0");
      return res.set_content(R"({"error":{"message":"try later"}})", "application/json");
    }
    if (c == "timeout" && k == 0) std::this_thread::sleep_for(std::chrono::duration<double>(timeout_sleep_s));
    nlohmann::json r = {
        {"id", "x"},
        {"object", "chat.completion"},
        {"model", body["model"]},
        {"choices",
         {{{"index", 0},
           {"message", {{"role", "assistant"}, {"content", answer(c, k, body)}}},
           {"finish_reason", "stop"}}}},
        {"usage", {{"prompt_tokens", 100}, {"completion_tokens", 10}, {"total_tokens", 110}}}};
    res.set_content(r.dump(), "application/json");
  }
};

}  // namespace tsft_test
