#include "http_client.h"

#include <curl/curl.h>
#include <fmt/format.h>
#include <openssl/crypto.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <vector>

#include "curl_library.h"

namespace vigil {

std::string_view to_string(HttpErrorKind kind) {
    switch (kind) {
        case HttpErrorKind::Connect: return "connect";
        case HttpErrorKind::Timeout: return "timeout";
        case HttpErrorKind::Tls: return "tls";
        case HttpErrorKind::HttpStatus: return "http_status";
        case HttpErrorKind::TooLarge: return "too_large";
        case HttpErrorKind::Busy: return "busy";
        case HttpErrorKind::CircuitOpen: return "circuit_open";
        case HttpErrorKind::Malformed: return "malformed";
        case HttpErrorKind::Other: return "other";
    }
    return "other";
}

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// The DNS cache and TLS sessions shared by all pooled handles. libcurl calls
// lock/unlock around each use; one mutex per kind of data, as it asks.
class CurlShare {
public:
    CurlShare() : share_(curl_share_init()) {
        if (!share_) return;
        curl_share_setopt(share_, CURLSHOPT_USERDATA, this);
        curl_share_setopt(share_, CURLSHOPT_LOCKFUNC, &CurlShare::lock);
        curl_share_setopt(share_, CURLSHOPT_UNLOCKFUNC, &CurlShare::unlock);
        curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
        curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    }
    ~CurlShare() { curl_share_cleanup(share_); }
    CurlShare(const CurlShare&) = delete;
    CurlShare& operator=(const CurlShare&) = delete;
    CURLSH* get() const { return share_; }

private:
    static void lock(CURL*, curl_lock_data data, curl_lock_access, void* self) {
        static_cast<CurlShare*>(self)->mutexes_[data].lock();
    }
    static void unlock(CURL*, curl_lock_data data, void* self) {
        static_cast<CurlShare*>(self)->mutexes_[data].unlock();
    }

    CURLSH* share_;
    std::array<std::mutex, CURL_LOCK_DATA_LAST> mutexes_;
};

// One pooled easy handle and what its callbacks write into.
struct Handle {
    struct Cleanup {
        void operator()(CURL* c) const { curl_easy_cleanup(c); }
    };
    std::unique_ptr<CURL, Cleanup> easy;
    char errbuf[CURL_ERROR_SIZE] = {};
    std::string body;
    size_t max_body = 0;
    bool too_large = false;
};

size_t on_body(char* data, size_t, size_t n, void* userdata) {
    auto* h = static_cast<Handle*>(userdata);
    if (h->body.size() + n > h->max_body) {
        h->too_large = true;
        return 0;  // makes curl abort the transfer with CURLE_WRITE_ERROR
    }
    h->body.append(data, n);
    return n;
}

// The request's header lines. Wipes every line before freeing, since one of
// them carries the bearer token.
class HeaderList {
public:
    HeaderList() = default;
    HeaderList(const HeaderList&) = delete;
    HeaderList& operator=(const HeaderList&) = delete;
    ~HeaderList() {
        for (curl_slist* n = list_; n != nullptr; n = n->next) OPENSSL_cleanse(n->data, strlen(n->data));
        curl_slist_free_all(list_);
    }
    bool add(const char* line) {
        curl_slist* grown = curl_slist_append(list_, line);
        if (grown != nullptr) list_ = grown;
        return grown != nullptr;
    }
    curl_slist* get() const { return list_; }

private:
    curl_slist* list_ = nullptr;
};

HttpErrorKind classify(CURLcode rc, std::string_view message) {
    switch (rc) {
        case CURLE_OPERATION_TIMEDOUT: return HttpErrorKind::Timeout;
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_CONNECT: return HttpErrorKind::Connect;
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CIPHER:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_CRL_BADFILE:
        case CURLE_SSL_INVALIDCERTSTATUS:
        case CURLE_SSL_CLIENTCERT:
        case CURLE_SSL_ENGINE_NOTFOUND:
        case CURLE_SSL_ENGINE_SETFAILED:
        case CURLE_SSL_ENGINE_INITFAILED:
        case CURLE_USE_SSL_FAILED: return HttpErrorKind::Tls;
        case CURLE_FILESIZE_EXCEEDED: return HttpErrorKind::TooLarge;
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
            // TLS 1.3 servers reject a client certificate after the handshake,
            // so "alert certificate required" arrives as a read error. An error
            // from OpenSSL's TLS layer (not the socket) names "SSL routines".
            return message.find("SSL routines") != std::string_view::npos ? HttpErrorKind::Tls : HttpErrorKind::Other;
        default: return HttpErrorKind::Other;
    }
}

Status check_readable(std::string_view what, const std::string& path) {
    if (path.empty() || ::access(path.c_str(), R_OK) == 0) return Ok{};
    return err(fmt::format("{} {}: cannot read: {}", what, path, strerror(errno)));
}

// Bytes the form encoding leaves as they are (ASCII, whatever the locale).
bool is_unreserved(unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '.' ||
           c == '_' || c == '~' || c == '*';
}

// application/x-www-form-urlencoded (the WHATWG form encoding OAuth 2.0
// expects). Room for the worst case is reserved first, so the string never
// regrows and leaves an unwiped copy of a secret value behind.
std::string form_encode(const std::vector<FormField>& fields) {
    size_t most = 0;
    for (const FormField& f : fields) most += 3 * (f.name.size() + f.value.size()) + 2;
    std::string out;
    out.reserve(most);
    auto append = [&out](std::string_view text) {
        static constexpr char kHex[] = "0123456789ABCDEF";
        for (unsigned char c : text) {
            if (is_unreserved(c)) {
                out += static_cast<char>(c);
            } else if (c == ' ') {
                out += '+';
            } else {
                out += '%';
                out += kHex[c >> 4];
                out += kHex[c & 0xf];
            }
        }
    };
    for (const FormField& f : fields) {
        if (!out.empty()) out += '&';
        append(f.name);
        out += '=';
        append(f.value);
    }
    return out;
}

// Wipes a string that may hold a secret when it goes out of scope.
struct WipeOnExit {
    std::string& text;
    ~WipeOnExit() { OPENSSL_cleanse(text.data(), text.size()); }
};

Status check_settings(const HttpClientSettings& s) {
    if (s.client_cert.empty() != s.client_key.empty()) {
        return err("client_cert and client_key go together: set both for mTLS, or neither");
    }
    if (!s.pinned_pubkey.empty() && !s.pinned_pubkey.starts_with("sha256//")) {
        return err("pinned_pubkey must look like \"sha256//<base64>\" (several joined by ';')");
    }
    if (s.max_connections == 0) return err("max_connections must be at least 1");
    if (Status st = check_readable("ca_file", s.ca_file); !st) return st;
    if (Status st = check_readable("client_cert", s.client_cert); !st) return st;
    return check_readable("client_key", s.client_key);
}

// What one call asks for; a null content_type means GET.
struct OneRequest {
    const char* content_type = nullptr;
    std::string_view body{};
    std::string_view request_id{};
};

}  // namespace

struct HttpClient::Impl {
    explicit Impl(HttpClientSettings s) : settings(std::move(s)) {}

    std::unique_ptr<Handle> new_handle();
    void configure(CURL* c, Handle* h);
    Result<Handle*> acquire(Clock::time_point deadline);
    void release(Handle* h);
    Status build_headers(HeaderList& headers, const OneRequest& rq) const;
    HttpResult send(const std::string& url, const OneRequest& rq, milliseconds timeout);
    HttpResult perform(Handle* h, const std::string& url, const OneRequest& rq, const HeaderList& headers,
                       Clock::time_point start, Clock::time_point deadline);

    HttpClientSettings settings;  // bearer_token moved out into auth_header
    Secret auth_header;           // "Authorization: Bearer <token>", built once
    CurlShare share;              // declared before the handles, so it outlives them
    std::mutex mu;
    std::condition_variable idle_cv;
    std::vector<std::unique_ptr<Handle>> handles;
    std::vector<Handle*> idle;  // LIFO: back() holds the warmest connection
    std::atomic<size_t> connections{0};
};

std::unique_ptr<Handle> HttpClient::Impl::new_handle() {
    auto h = std::make_unique<Handle>();
    h->easy.reset(curl_easy_init());
    if (!h->easy) return nullptr;
    h->max_body = settings.max_response_bytes;
    configure(h->easy.get(), h.get());
    return h;
}

// Everything that is the same for every request. Return codes are not checked
// one by one: each option exists in the libcurl we build against, and a bad
// file or pin shows up as the first request's Tls error.
void HttpClient::Impl::configure(CURL* c, Handle* h) {
    curl_easy_setopt(c, CURLOPT_SHARE, share.get());
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM timeouts: we are threaded
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(h->max_body));
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_PROXY, "");  // ignore http_proxy and friends
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPIDLE, 30L);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPINTVL, 10L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "vigild");
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
    if (!settings.ca_file.empty()) {
        // Trust this bundle only: the system CA directory would let any
        // public CA vouch for the PDP.
        curl_easy_setopt(c, CURLOPT_CAINFO, settings.ca_file.c_str());
        curl_easy_setopt(c, CURLOPT_CAPATH, nullptr);
    }
    if (!settings.pinned_pubkey.empty()) {
        curl_easy_setopt(c, CURLOPT_PINNEDPUBLICKEY, settings.pinned_pubkey.c_str());
    }
    if (!settings.client_cert.empty()) {
        curl_easy_setopt(c, CURLOPT_SSLCERT, settings.client_cert.c_str());
        curl_easy_setopt(c, CURLOPT_SSLKEY, settings.client_key.c_str());
    }
}

Result<Handle*> HttpClient::Impl::acquire(Clock::time_point deadline) {
    std::unique_lock lock(mu);
    for (;;) {
        if (!idle.empty()) {
            Handle* h = idle.back();
            idle.pop_back();
            return h;
        }
        if (handles.size() < settings.max_connections) {
            auto h = new_handle();
            if (!h) return err("curl_easy_init failed");
            handles.push_back(std::move(h));
            return handles.back().get();
        }
        if (idle_cv.wait_until(lock, deadline) == std::cv_status::timeout && idle.empty()) {
            return err(fmt::format("all {} connections stayed busy until the deadline", settings.max_connections));
        }
    }
}

void HttpClient::Impl::release(Handle* h) {
    {
        std::lock_guard lock(mu);
        idle.push_back(h);
    }
    idle_cv.notify_one();
}

Status HttpClient::Impl::build_headers(HeaderList& headers, const OneRequest& rq) const {
    std::string_view request_id = rq.request_id;
    // A CR or LF would let the id add header lines of its own.
    if (std::any_of(request_id.begin(), request_id.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; })) {
        return err("request id contains control characters");
    }
    // "Expect:" stops curl from sending "Expect: 100-continue" and waiting
    // for the server's go-ahead before sending a large body.
    bool ok = headers.add("Accept: application/json") && headers.add("Expect:");
    if (ok && rq.content_type != nullptr) ok = headers.add(fmt::format("Content-Type: {}", rq.content_type).c_str());
    if (ok && !auth_header.empty()) ok = headers.add(auth_header.c_str());
    if (ok && !request_id.empty()) {
        ok = headers.add(fmt::format("X-Request-ID: {}", request_id).c_str());
    }
    if (!ok) return err("out of memory building request headers");
    return Ok{};
}

HttpResult HttpClient::Impl::perform(Handle* h, const std::string& url, const OneRequest& rq, const HeaderList& headers,
                                     Clock::time_point start, Clock::time_point deadline) {
    auto left = std::chrono::ceil<milliseconds>(deadline - Clock::now());
    if (left <= milliseconds(0)) {
        return HttpError{.kind = HttpErrorKind::Timeout, .message = "deadline passed before sending"};
    }
    CURL* c = h->easy.get();
    h->body.clear();
    h->too_large = false;
    h->errbuf[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    if (rq.content_type == nullptr) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);  // the pooled handle may have POSTed last
    } else {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq.body.data());
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(rq.body.size()));
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(left.count()));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min(left, settings.connect_timeout).count()));
    CURLcode rc = curl_easy_perform(c);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, nullptr);  // the list dies with this request

    long new_connections = 0;
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &new_connections);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    connections += static_cast<size_t>(new_connections);

    if (h->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
        return HttpError{.kind = HttpErrorKind::TooLarge,
                         .message = fmt::format("answer larger than {} bytes", settings.max_response_bytes)};
    }
    if (rc != CURLE_OK) {
        std::string why = h->errbuf[0] != '\0' ? h->errbuf : curl_easy_strerror(rc);
        return HttpError{.kind = classify(rc, why), .message = std::move(why)};
    }
    if (status < 200 || status > 299) {
        return HttpError{HttpErrorKind::HttpStatus, fmt::format("HTTP {}", status), status, std::move(h->body)};
    }
    auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
    return HttpResponse{status, std::move(h->body), elapsed, new_connections == 0};
}

Result<std::unique_ptr<HttpClient>> HttpClient::create(HttpClientSettings settings) {
    if (Status st = load_curl(); !st) return st.error();
    if (Status st = check_settings(settings); !st) return st.error();
    auto impl = std::make_unique<Impl>(std::move(settings));
    if (!impl->share.get()) return err("curl_share_init failed");
    // Keep the token only inside the header line, in one wiped place.
    Secret token = std::move(impl->settings.bearer_token);
    if (!token.empty()) {
        std::string line = "Authorization: Bearer ";
        line.reserve(line.size() + token.size());  // no regrowth leaving a copy behind
        line += token.reveal();
        impl->auth_header = Secret(line);
        OPENSSL_cleanse(line.data(), line.size());
    }
    return std::unique_ptr<HttpClient>(new HttpClient(std::move(impl)));
}

HttpClient::HttpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpClient::~HttpClient() = default;

HttpResult HttpClient::Impl::send(const std::string& url, const OneRequest& rq, milliseconds timeout) {
    Clock::time_point start = Clock::now();
    Clock::time_point deadline = start + timeout;
    HeaderList headers;
    if (Status st = build_headers(headers, rq); !st) {
        return HttpError{.kind = HttpErrorKind::Other, .message = st.error().message};
    }
    auto h = acquire(deadline);
    if (!h) return HttpError{.kind = HttpErrorKind::Busy, .message = h.error().message};
    HttpResult r = perform(*h, url, rq, headers, start, deadline);
    release(*h);
    return r;
}

HttpResult HttpClient::post(const std::string& url, std::string_view body, milliseconds timeout,
                            std::string_view request_id) {
    return impl_->send(url, {.content_type = "application/json", .body = body, .request_id = request_id}, timeout);
}

HttpResult HttpClient::post_form(const std::string& url, const std::vector<FormField>& fields, milliseconds timeout) {
    std::string body = form_encode(fields);
    WipeOnExit wipe{body};
    return impl_->send(url, {.content_type = "application/x-www-form-urlencoded", .body = body}, timeout);
}

HttpResult HttpClient::get(const std::string& url, milliseconds timeout) { return impl_->send(url, {}, timeout); }

size_t HttpClient::connections_opened() const { return impl_->connections.load(); }

}  // namespace vigil
