#include "net/http_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <mutex>

namespace tsft::net {

namespace {
struct Transfer {
  const HttpRequest* req;
  HttpResponse* res;
  bool aborted = false;
};

size_t on_body(char* p, size_t size, size_t n, void* ud) {
  auto* t = (Transfer*)ud;
  size_t len = size * n;
  if (t->req->on_data) {
    if (!t->req->on_data(p, len)) {
      t->aborted = true;
      return 0;  // makes curl fail the transfer with CURLE_WRITE_ERROR
    }
  } else {
    t->res->body.append(p, len);
  }
  return len;
}

size_t on_header(char* p, size_t size, size_t n, void* ud) {
  auto* t = (Transfer*)ud;
  std::string line(p, size * n);
  size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon), value = line.substr(colon + 1);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return (char)std::tolower(c); });
    value.erase(0, value.find_first_not_of(" \t"));
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.pop_back();
    t->res->headers[name] = value;
  }
  return size * n;
}
}  // namespace

HttpResponse http_request(const HttpRequest& req) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  HttpResponse res;
  Transfer t{&req, &res};
  CURL* c = curl_easy_init();
  if (!c) return res.error = "curl_easy_init failed", res;
  curl_slist* hs = nullptr;
  for (auto& h : req.headers) hs = curl_slist_append(hs, h.c_str());
  curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  if (req.method == "POST") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req.body.size());
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(req.timeout_s * 1000));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(req.connect_timeout_s * 1000));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");  // endpoints are addressed directly
  CURLcode rc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &res.status);
  if (rc != CURLE_OK) {
    res.error = curl_easy_strerror(rc);
    res.timed_out = rc == CURLE_OPERATION_TIMEDOUT;
    res.aborted = t.aborted;
    if (!t.aborted) res.status = 0;
  }
  curl_slist_free_all(hs);
  curl_easy_cleanup(c);
  return res;
}

}  // namespace tsft::net
