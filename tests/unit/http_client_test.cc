// HttpClient against a real HTTP/1.1 server on 127.0.0.1 (plain and TLS),
// run on threads inside the test. No mocks of libcurl: what passes here is
// what vigild does on the wire.
#include "http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cctype>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "http_testing.h"

using namespace std::chrono_literals;
using vigil::HttpClient;
using vigil::HttpClientSettings;
using vigil::HttpErrorKind;
using vigil::HttpResult;

namespace vigil::testing {

// ---------------------------------------------------------------------------
// A throwaway PKI, made once per run with the openssl CLI: a CA, a server
// certificate for IP 127.0.0.1 signed by it, a client certificate signed by
// it, and an unrelated CA.
struct TestPki {
    std::string dir, ca, server_cert, server_key, client_cert, client_key, other_ca, server_pin;
};

namespace {

std::string run_capture(const std::string& cmd) {
    std::string out;
    FILE* p = popen(cmd.c_str(), "r");
    if (p == nullptr) return out;
    char buf[256];
    while (fgets(buf, sizeof buf, p) != nullptr) out += buf;
    pclose(p);
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
}

TestPki make_pki() {
    char tmpl[] = "/tmp/vigil-pki-XXXXXX";
    TestPki p;
    p.dir = mkdtemp(tmpl);
    const std::string d = p.dir + "/";
    const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2";
    const std::string leaf = " -addext basicConstraints=critical,CA:FALSE -CA " + d + "ca.pem -CAkey " + d + "ca.key";
    std::string cmds = "openssl req -x509 -new " + ec + " -keyout " + d + "ca.key -out " + d +
                       "ca.pem -subj /CN=vigil-test-ca && "
                       "openssl req -x509 -new " +
                       ec + " -keyout " + d + "other.key -out " + d +
                       "other.pem -subj /CN=some-other-ca && "
                       "openssl req -x509 -new " +
                       ec + " -keyout " + d + "server.key -out " + d +
                       "server.pem -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1" + leaf +
                       " && "
                       "openssl req -x509 -new " +
                       ec + " -keyout " + d + "client.key -out " + d + "client.pem -subj /CN=vigild-test-client" + leaf;
    REQUIRE(std::system(("(" + cmds + ") >/dev/null 2>&1").c_str()) == 0);
    p.ca = d + "ca.pem";
    p.other_ca = d + "other.pem";
    p.server_cert = d + "server.pem";
    p.server_key = d + "server.key";
    p.client_cert = d + "client.pem";
    p.client_key = d + "client.key";
    p.server_pin = "sha256//" + run_capture("openssl x509 -in " + p.server_cert +
                                            " -pubkey -noout | openssl pkey -pubin -outform der"
                                            " | openssl dgst -sha256 -binary | base64");
    return p;
}

struct PkiHolder {
    TestPki pki = make_pki();
    ~PkiHolder() { std::filesystem::remove_all(pki.dir); }
};

}  // namespace

const TestPki& test_pki() {
    static PkiHolder holder;
    return holder.pki;
}

// ---------------------------------------------------------------------------
// A tiny HTTP/1.1 server: accepts on 127.0.0.1, one thread per connection,
// reads requests (headers + Content-Length body) and answers each with the
// canned reply, keeping the connection open. Counts accepts and requests.
struct ServerOptions {
    int status = 200;
    std::string body = R"({"decision":true})";
    bool silent = false;             // read the request, never answer
    bool close_delimited = false;    // no Content-Length; close after the body
    bool drop_after_answer = false;  // answer normally, then close without saying so
    bool tls = false;
    bool require_client_cert = false;  // mTLS: client cert signed by the test CA
};

class TestHttpServer {
public:
    explicit TestHttpServer(ServerOptions o) : opts_(std::move(o)) {
        if (opts_.tls) setup_tls();
        listen_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        REQUIRE(::bind(listen_, reinterpret_cast<sockaddr*>(&a), len) == 0);
        REQUIRE(::listen(listen_, 64) == 0);
        REQUIRE(::getsockname(listen_, reinterpret_cast<sockaddr*>(&a), &len) == 0);
        port_ = ntohs(a.sin_port);
        acceptor_ = std::thread([this] { accept_loop(); });
    }

    ~TestHttpServer() {
        {
            std::lock_guard lock(mu_);
            stop_ = true;
        }
        cv_.notify_all();
        acceptor_.join();
        for (int fd : conns_) ::shutdown(fd, SHUT_RDWR);  // wakes blocked reads
        for (auto& t : workers_) t.join();
        for (int fd : conns_) ::close(fd);
        ::close(listen_);
        if (ctx_ != nullptr) SSL_CTX_free(ctx_);
    }

    std::string url() const {
        return std::string(opts_.tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_);
    }
    int port() const { return port_; }
    int accepts() const { return accepts_.load(); }
    int requests() const { return requests_.load(); }
    void set_status(int status) {
        std::lock_guard lock(mu_);
        opts_.status = status;
    }
    void set_body(std::string body) {
        std::lock_guard lock(mu_);
        opts_.body = std::move(body);
    }
    std::string last_request() const {
        std::lock_guard lock(mu_);
        return last_request_;
    }

private:
    // A connection, plain or TLS.
    struct Conn {
        int fd;
        SSL* ssl = nullptr;
        std::string pending{};  // bytes read past the previous request
        ssize_t read(char* buf, size_t n) {
            return ssl != nullptr ? SSL_read(ssl, buf, static_cast<int>(n)) : ::read(fd, buf, n);
        }
        bool write_all(const std::string& s) {
            size_t off = 0;
            while (off < s.size()) {
                ssize_t n = ssl != nullptr ? SSL_write(ssl, s.data() + off, static_cast<int>(s.size() - off))
                                           : ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
                if (n <= 0) return false;
                off += static_cast<size_t>(n);
            }
            return true;
        }
    };

    void setup_tls() {
        const TestPki& pki = test_pki();
        ctx_ = SSL_CTX_new(TLS_server_method());
        REQUIRE(SSL_CTX_use_certificate_chain_file(ctx_, pki.server_cert.c_str()) == 1);
        REQUIRE(SSL_CTX_use_PrivateKey_file(ctx_, pki.server_key.c_str(), SSL_FILETYPE_PEM) == 1);
        if (opts_.require_client_cert) {
            REQUIRE(SSL_CTX_load_verify_locations(ctx_, pki.ca.c_str(), nullptr) == 1);
            SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
        }
    }

    void accept_loop() {
        while (!stopping()) {
            pollfd p{listen_, POLLIN, 0};
            if (::poll(&p, 1, 20) <= 0) continue;
            int fd = ::accept4(listen_, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0) continue;
            ++accepts_;
            conns_.push_back(fd);
            workers_.emplace_back([this, fd] { serve(fd); });
        }
    }

    bool stopping() const {
        std::lock_guard lock(mu_);
        return stop_;
    }

    void serve(int fd) {
        // OpenSSL writes with write(), not send(MSG_NOSIGNAL): a client that
        // hangs up mid-handshake (a failed pin check) must not kill the test
        // binary with SIGPIPE. Blocked on this thread only, so the client
        // side is still tested as vigild runs it.
        sigset_t pipe;
        sigemptyset(&pipe);
        sigaddset(&pipe, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
        Conn c{fd};
        if (ctx_ != nullptr) {
            c.ssl = SSL_new(ctx_);
            SSL_set_fd(c.ssl, fd);
            if (SSL_accept(c.ssl) != 1) {
                SSL_free(c.ssl);
                return;
            }
        }
        while (auto request = read_request(c)) {
            ServerOptions o;
            {
                std::lock_guard lock(mu_);
                last_request_ = *request;
                o = opts_;
            }
            ++requests_;
            if (o.silent) {
                std::unique_lock lock(mu_);
                cv_.wait(lock, [this] { return stop_; });
                break;
            }
            if (!c.write_all(response(o)) || o.close_delimited || o.drop_after_answer) break;
        }
        if (c.ssl != nullptr) SSL_free(c.ssl);
        ::shutdown(fd, SHUT_RDWR);
    }

    static std::string response(const ServerOptions& o) {
        std::ostringstream r;
        r << "HTTP/1.1 " << o.status << " Canned\r\nContent-Type: application/json\r\n";
        if (o.status >= 300 && o.status < 400) r << "Location: /elsewhere\r\n";
        if (o.close_delimited) {
            r << "Connection: close\r\n";
        } else {
            r << "Content-Length: " << o.body.size() << "\r\n";
        }
        r << "\r\n" << o.body;
        return r.str();
    }

    // One request's header block plus body, or nullopt when the peer is done.
    static std::optional<std::string> read_request(Conn& c) {
        std::string buf = std::move(c.pending);
        size_t end;
        while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
            if (!read_more(c, buf)) return std::nullopt;
        }
        size_t total = end + 4 + content_length(buf.substr(0, end));
        while (buf.size() < total) {
            if (!read_more(c, buf)) return std::nullopt;
        }
        c.pending = buf.substr(total);
        buf.resize(total);
        return buf;
    }

    static bool read_more(Conn& c, std::string& buf) {
        char tmp[16384];
        ssize_t n = c.read(tmp, sizeof tmp);
        if (n <= 0) return false;
        buf.append(tmp, static_cast<size_t>(n));
        return true;
    }

    static size_t content_length(std::string headers) {
        for (char& ch : headers) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        size_t at = headers.find("\r\ncontent-length:");
        return at == std::string::npos ? 0 : std::stoul(headers.substr(at + 17));
    }

    ServerOptions opts_;
    SSL_CTX* ctx_ = nullptr;
    int listen_ = -1;
    int port_ = 0;
    std::thread acceptor_;
    std::vector<int> conns_;            // acceptor thread only, until it is joined
    std::vector<std::thread> workers_;  // likewise
    std::atomic<int> accepts_{0};
    std::atomic<int> requests_{0};
    mutable std::mutex mu_;
    std::condition_variable cv_;
    bool stop_ = false;
    std::string last_request_;
};

// The server for pdp_transport_test.cc, which declares these functions.
std::shared_ptr<TestHttpServer> start_test_server(int status, bool silent) {
    return std::make_shared<TestHttpServer>(ServerOptions{.status = status, .silent = silent});
}
std::string url_of(const TestHttpServer& s) { return s.url(); }
int requests_to(const TestHttpServer& s) { return s.requests(); }
void set_status(TestHttpServer& s, int status) { s.set_status(status); }
void set_body(TestHttpServer& s, const std::string& body) { s.set_body(body); }
std::string last_request_of(const TestHttpServer& s) { return s.last_request(); }

// A port on 127.0.0.1 with nothing listening: connecting is refused.
int closed_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), len);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

}  // namespace vigil::testing

using vigil::testing::ServerOptions;
using vigil::testing::test_pki;
using vigil::testing::TestHttpServer;

namespace {

std::unique_ptr<HttpClient> make_client(HttpClientSettings s = {}) {
    auto c = HttpClient::create(std::move(s));
    REQUIRE(c);
    return std::move(*c);
}

const std::string kBody = R"({"subject":{"type":"user","id":"alice"}})";

}  // namespace

TEST_CASE("http client sends ten sequential posts over one connection") {
    TestHttpServer server({});
    auto client = make_client();
    for (int i = 0; i < 10; ++i) {
        INFO("request " << i + 1);
        HttpResult r = client->post(server.url() + "/access/v1/evaluation", kBody, 2s);
        REQUIRE(r);
        CHECK(r->status == 200);
        CHECK(r->body == R"({"decision":true})");
        CHECK(r->reused_connection == (i > 0));
    }
    CHECK(server.accepts() == 1);
    CHECK(server.requests() == 10);
    CHECK(client->connections_opened() == 1);
}

TEST_CASE("http client posts JSON with the bearer token and request id") {
    TestHttpServer server({});
    auto client = make_client({.bearer_token = vigil::Secret("tok-123")});
    REQUIRE(client->post(server.url() + "/access/v1/evaluation", kBody, 2s, "req-42"));
    std::string seen = server.last_request();
    CHECK_THAT(seen, Catch::StartsWith("POST /access/v1/evaluation HTTP/1.1\r\n"));
    CHECK_THAT(seen, Catch::Contains("\r\nContent-Type: application/json\r\n"));
    CHECK_THAT(seen, Catch::Contains("\r\nAuthorization: Bearer tok-123\r\n"));
    CHECK_THAT(seen, Catch::Contains("\r\nX-Request-ID: req-42\r\n"));
    CHECK_THAT(seen, !Catch::Contains("Expect:"));
    CHECK_THAT(seen, Catch::EndsWith("\r\n\r\n" + kBody));
}

TEST_CASE("http client posts a form, encoding every reserved byte") {
    TestHttpServer server({});
    auto client = make_client();
    std::vector<vigil::FormField> fields = {{"grant_type", "urn:ietf:params:oauth:grant-type:device_code"},
                                            {"scope", "openid profile"},
                                            {"device_code", "a&b=c+d%e/\xc3\xa9"}};
    HttpResult r = client->post_form(server.url() + "/token", fields, 2s);
    REQUIRE(r);
    CHECK(r->body == R"({"decision":true})");
    std::string seen = server.last_request();
    CHECK_THAT(seen, Catch::StartsWith("POST /token HTTP/1.1\r\n"));
    CHECK_THAT(seen, Catch::Contains("\r\nContent-Type: application/x-www-form-urlencoded\r\n"));
    CHECK_THAT(seen, Catch::Contains("\r\nAccept: application/json\r\n"));
    CHECK_THAT(seen, Catch::EndsWith("\r\n\r\ngrant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code"
                                     "&scope=openid+profile&device_code=a%26b%3Dc%2Bd%25e%2F%C3%A9"));
}

TEST_CASE("http client gets, and a pooled handle goes back to posting afterwards") {
    TestHttpServer server({});
    auto client = make_client({.max_connections = 1});
    REQUIRE(client->post(server.url() + "/a", kBody, 2s));
    HttpResult r = client->get(server.url() + "/.well-known/openid-configuration", 2s);
    REQUIRE(r);
    CHECK(r->reused_connection);
    std::string seen = server.last_request();
    CHECK_THAT(seen, Catch::StartsWith("GET /.well-known/openid-configuration HTTP/1.1\r\n"));
    CHECK_THAT(seen, !Catch::Contains("Content-Type"));
    CHECK_THAT(seen, Catch::EndsWith("\r\n\r\n"));
    REQUIRE(client->post(server.url() + "/b", kBody, 2s));
    CHECK_THAT(server.last_request(), Catch::StartsWith("POST /b HTTP/1.1\r\n"));
    CHECK_THAT(server.last_request(), Catch::EndsWith("\r\n\r\n" + kBody));
}

TEST_CASE("http client get keeps the guarantees: no redirects, size cap, TLS verified") {
    SECTION("a redirect is an http_status error, not followed") {
        TestHttpServer server({.status = 302});
        HttpResult r = make_client()->get(server.url() + "/", 2s);
        REQUIRE_FALSE(r);
        CHECK(r.error().status == 302);
        CHECK(server.requests() == 1);
    }
    SECTION("an answer over the cap is too_large") {
        TestHttpServer server({.body = std::string(5000, 'x')});
        HttpResult r = make_client({.max_response_bytes = 1000})->get(server.url() + "/", 2s);
        REQUIRE_FALSE(r);
        CHECK(r.error().kind == HttpErrorKind::TooLarge);
    }
    SECTION("a server the CA does not vouch for is tls") {
        TestHttpServer server({.tls = true});
        HttpResult r = make_client({.ca_file = test_pki().other_ca})->get(server.url() + "/", 2s);
        REQUIRE_FALSE(r);
        CHECK(r.error().kind == HttpErrorKind::Tls);
        CHECK(make_client({.ca_file = test_pki().ca})->get(server.url() + "/", 2s));
    }
}

TEST_CASE("http client refuses a request id that would add header lines") {
    TestHttpServer server({});
    auto client = make_client();
    HttpResult r = client->post(server.url() + "/", kBody, 2s, "id\r\nX-Evil: 1");
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == HttpErrorKind::Other);
    CHECK(server.requests() == 0);
}

TEST_CASE("http client times out within the deadline when the server never answers") {
    TestHttpServer server({.silent = true});
    auto client = make_client();
    auto start = std::chrono::steady_clock::now();
    HttpResult r = client->post(server.url() + "/", kBody, 300ms);
    auto took = std::chrono::steady_clock::now() - start;
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == HttpErrorKind::Timeout);
    CHECK(took < 1300ms);  // only an upper bound: curl may fire a hair early
}

TEST_CASE("http client reports connect when the port is closed") {
    auto client = make_client();
    std::string url = "http://127.0.0.1:" + std::to_string(vigil::testing::closed_port()) + "/";
    HttpResult r = client->post(url, kBody, 2s);
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == HttpErrorKind::Connect);
    CHECK_FALSE(r.error().message.empty());
}

TEST_CASE("http client returns a non-2xx answer as http_status with its body") {
    TestHttpServer server({.status = 503, .body = "pdp overloaded"});
    auto client = make_client();
    HttpResult r = client->post(server.url() + "/", kBody, 2s);
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == HttpErrorKind::HttpStatus);
    CHECK(r.error().status == 503);
    CHECK(r.error().body == "pdp overloaded");
    CHECK(r.error().message == "HTTP 503");
}

TEST_CASE("http client does not follow redirects") {
    TestHttpServer server({.status = 302});
    auto client = make_client();
    HttpResult r = client->post(server.url() + "/", kBody, 2s);
    REQUIRE_FALSE(r);
    CHECK(r.error().status == 302);
    CHECK(server.requests() == 1);
}

TEST_CASE("http client refuses an answer larger than the cap") {
    SECTION("announced by Content-Length") {
        TestHttpServer server({.body = std::string((1 << 20) + 1, 'x')});
        auto client = make_client();
        HttpResult r = client->post(server.url() + "/", kBody, 2s);
        REQUIRE_FALSE(r);
        CHECK(r.error().kind == HttpErrorKind::TooLarge);
    }
    SECTION("discovered while reading a body of unknown length") {
        TestHttpServer server({.body = std::string(5000, 'x'), .close_delimited = true});
        auto client = make_client({.max_response_bytes = 1000});
        HttpResult r = client->post(server.url() + "/", kBody, 2s);
        REQUIRE_FALSE(r);
        CHECK(r.error().kind == HttpErrorKind::TooLarge);
        CHECK(r.error().message == "answer larger than 1000 bytes");
    }
    SECTION("an answer of exactly the cap is fine") {
        TestHttpServer server({.body = std::string(1000, 'x')});
        auto client = make_client({.max_response_bytes = 1000});
        CHECK(client->post(server.url() + "/", kBody, 2s));
    }
}

TEST_CASE("http client reconnects when the server dropped the idle connection") {
    TestHttpServer server({.drop_after_answer = true});
    auto client = make_client();
    REQUIRE(client->post(server.url() + "/", kBody, 2s));
    std::this_thread::sleep_for(50ms);  // let the close arrive before the next request
    HttpResult r = client->post(server.url() + "/", kBody, 2s);
    REQUIRE(r);
    CHECK_FALSE(r->reused_connection);
    CHECK(server.accepts() == 2);
}

TEST_CASE("http client verifies the server against ca_file") {
    TestHttpServer server({.tls = true});
    SECTION("the right CA: ok, and the TLS connection is reused") {
        auto client = make_client({.ca_file = test_pki().ca});
        HttpResult first = client->post(server.url() + "/", kBody, 2s);
        REQUIRE(first);
        HttpResult second = client->post(server.url() + "/", kBody, 2s);
        REQUIRE(second);
        CHECK(second->reused_connection);
        CHECK(server.accepts() == 1);
    }
    SECTION("another CA: tls") {
        auto client = make_client({.ca_file = test_pki().other_ca});
        HttpResult r = client->post(server.url() + "/", kBody, 2s);
        REQUIRE_FALSE(r);
        CHECK(r.error().kind == HttpErrorKind::Tls);
        CHECK(server.requests() == 0);
    }
    SECTION("the system store does not know the test CA: tls") {
        auto client = make_client();
        HttpResult r = client->post(server.url() + "/", kBody, 2s);
        REQUIRE_FALSE(r);
        CHECK(r.error().kind == HttpErrorKind::Tls);
    }
    SECTION("a name the certificate does not carry: tls") {
        auto client = make_client({.ca_file = test_pki().ca});
        std::string url = "https://localhost:" + std::to_string(server.port()) + "/";
        HttpResult r = client->post(url, kBody, 2s);
        REQUIRE_FALSE(r);
        CHECK(r.error().kind == HttpErrorKind::Tls);
    }
}

TEST_CASE("http client enforces the pinned public key") {
    TestHttpServer server({.tls = true});
    SECTION("the server's key: ok") {
        auto client = make_client({.ca_file = test_pki().ca, .pinned_pubkey = test_pki().server_pin});
        CHECK(client->post(server.url() + "/", kBody, 2s));
    }
    SECTION("another key: tls, even though the CA vouches for the server") {
        auto client = make_client(
            {.ca_file = test_pki().ca, .pinned_pubkey = "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="});
        HttpResult r = client->post(server.url() + "/", kBody, 2s);
        REQUIRE_FALSE(r);
        CHECK(r.error().kind == HttpErrorKind::Tls);
        CHECK(server.requests() == 0);
    }
}

TEST_CASE("http client presents its certificate to a server that requires mTLS") {
    TestHttpServer server({.tls = true, .require_client_cert = true});
    SECTION("with the client certificate: ok") {
        auto client = make_client(
            {.ca_file = test_pki().ca, .client_cert = test_pki().client_cert, .client_key = test_pki().client_key});
        CHECK(client->post(server.url() + "/", kBody, 2s));
    }
    SECTION("without one: refused by the server, reported as tls") {
        auto client = make_client({.ca_file = test_pki().ca});
        HttpResult r = client->post(server.url() + "/", kBody, 2s);
        REQUIRE_FALSE(r);
        INFO(r.error().message);
        CHECK(r.error().kind == HttpErrorKind::Tls);
        CHECK(server.requests() == 0);
    }
}

TEST_CASE("http client checks its settings at creation") {
    auto bad = [](HttpClientSettings s) {
        auto c = HttpClient::create(std::move(s));
        REQUIRE_FALSE(c);
        return c.error().message;
    };
    CHECK_THAT(bad({.client_cert = test_pki().client_cert}), Catch::Contains("both"));
    CHECK_THAT(bad({.pinned_pubkey = "/etc/vigil/pdp.pub"}), Catch::Contains("sha256//"));
    CHECK_THAT(bad({.ca_file = "/nonexistent/ca.pem"}), Catch::Contains("ca_file /nonexistent/ca.pem: cannot read"));
    CHECK_THAT(bad({.max_connections = 0}), Catch::Contains("max_connections"));
}

TEST_CASE("http client serves 8 threads x 50 posts over at most max_connections connections") {
    TestHttpServer server({});
    auto client = make_client({.max_connections = 4});
    std::atomic<int> ok{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 50; ++i) {
                if (client->post(server.url() + "/", kBody, 10s)) ++ok;
            }
        });
    }
    for (auto& t : threads) t.join();
    CHECK(ok == 400);
    CHECK(server.requests() == 400);
    CHECK(server.accepts() <= 4);
    CHECK(client->connections_opened() <= 4);
}

// Not a check: prints latency numbers. Run with: unit_tests "[.bench]"
TEST_CASE("http client keep-alive latency", "[.bench]") {
    auto measure = [](const char* what, TestHttpServer& server, HttpClientSettings s) {
        auto client = make_client(std::move(s));
        REQUIRE(client->post(server.url() + "/", kBody, 2s));  // warm up: connect + handshake
        std::vector<long> us;
        for (int i = 0; i < 2000; ++i) {
            HttpResult r = client->post(server.url() + "/", kBody, 2s);
            REQUIRE(r);
            REQUIRE(r->reused_connection);
            us.push_back(static_cast<long>(r->elapsed.count()));
        }
        std::sort(us.begin(), us.end());
        std::printf("%s: %zu posts on %zu connection(s): p50 %ld us, p99 %ld us, max %ld us\n", what, us.size() + 1,
                    client->connections_opened(), us[us.size() / 2], us[us.size() * 99 / 100], us.back());
    };
    // For comparison: what each decision would cost without a warm connection.
    auto measure_cold = [](const char* what, TestHttpServer& server, const std::string& ca) {
        std::vector<long> us;
        for (int i = 0; i < 200; ++i) {
            auto client = make_client({.ca_file = ca});
            HttpResult r = client->post(server.url() + "/", kBody, 2s);
            REQUIRE(r);
            REQUIRE_FALSE(r->reused_connection);
            us.push_back(static_cast<long>(r->elapsed.count()));
        }
        std::sort(us.begin(), us.end());
        std::printf("%s: %zu posts on a new connection each: p50 %ld us, p99 %ld us\n", what, us.size(),
                    us[us.size() / 2], us[us.size() * 99 / 100]);
    };
    TestHttpServer plain({});
    measure("http  warm", plain, {});
    measure_cold("http  cold", plain, "");
    TestHttpServer tls({.tls = true});
    measure("https warm", tls, {.ca_file = test_pki().ca});
    measure_cold("https cold", tls, test_pki().ca);
}
