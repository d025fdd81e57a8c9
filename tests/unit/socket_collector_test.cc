// The generic JSON-over-unix-socket collector against a real local server:
// where an answer ends, which fields become signals, and that every way the
// agent can fail (absent, silent, slow, malformed, huge) leaves the field
// signals missing and reachable "false", logged once per change.
#include "socket_collector.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "json_path.h"
#include "json_value_end.h"
#include "posture_testing.h"
#include "unix_exchange.h"

using namespace std::chrono_literals;
using vigil::posture::JsonValueEnd;
using vigil::posture::SignalStore;
using vigil::posture::SocketCollector;
using vigil::posture::SocketSettings;

// The fake agent, shared with clamd_test.cc.
namespace vigil::testing {

class FakeUnixServer {
public:
    using Reply = std::function<std::string(const std::string& request)>;

    FakeUnixServer(std::string path, Reply reply, std::chrono::milliseconds delay, bool hold_open)
        : path_(std::move(path)), reply_(std::move(reply)), delay_(delay), hold_open_(hold_open) {
        fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        REQUIRE(path_.size() < sizeof addr.sun_path);
        std::memcpy(addr.sun_path, path_.c_str(), path_.size());
        ::unlink(path_.c_str());
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        REQUIRE(::listen(fd_, 16) == 0);
        thread_ = std::thread([this] { serve(); });
    }
    ~FakeUnixServer() {
        {
            std::lock_guard lock(mu_);
            stopping_ = true;
        }
        wake_.notify_all();
        thread_.join();
        ::close(fd_);
        ::unlink(path_.c_str());
    }
    int connections() const { return connections_; }
    std::string last_request() const {
        std::lock_guard lock(mu_);
        return last_request_;
    }

private:
    bool stopping() {
        std::lock_guard lock(mu_);
        return stopping_;
    }

    // Sleeps, but wakes for the destructor.
    void pause(std::chrono::milliseconds d) {
        std::unique_lock lock(mu_);
        wake_.wait_for(lock, d, [this] { return stopping_; });
    }

    void serve() {
        while (!stopping()) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 20) <= 0) continue;
            int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (c < 0) continue;
            ++connections_;
            handle(c);
            ::close(c);
        }
    }

    // A request ends at a newline or NUL, or after 100 ms of silence.
    std::string read_request(int c) {
        std::string req;
        char buf[4096];
        for (;;) {
            pollfd p{c, POLLIN, 0};
            if (::poll(&p, 1, 100) <= 0) return req;
            ssize_t n = ::recv(c, buf, sizeof buf, 0);
            if (n <= 0) return req;
            req.append(buf, static_cast<size_t>(n));
            if (req.find('\n') != std::string::npos || req.find('\0') != std::string::npos) return req;
        }
    }

    void handle(int c) {
        std::string req = read_request(c);
        {
            std::lock_guard lock(mu_);
            last_request_ = req;
        }
        pause(delay_);
        std::string out = reply_(req);
        size_t sent = 0;
        while (sent < out.size()) {
            ssize_t n = ::send(c, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
            if (n <= 0) break;
            sent += static_cast<size_t>(n);
        }
        // Held open: until the client hangs up, or we stop.
        while (hold_open_ && !stopping()) {
            pollfd p{c, POLLIN, 0};
            if (::poll(&p, 1, 20) > 0) {
                char b[256];
                if (::recv(c, b, sizeof b, 0) <= 0) break;
            }
        }
    }

    std::string path_;
    Reply reply_;
    std::chrono::milliseconds delay_;
    bool hold_open_;
    int fd_ = -1;
    std::atomic<int> connections_{0};
    mutable std::mutex mu_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::string last_request_;
    std::thread thread_;
};

std::shared_ptr<FakeUnixServer> start_fake_unix_server(const std::string& path, FakeUnixServer::Reply reply,
                                                       std::chrono::milliseconds delay, bool hold_open) {
    return std::make_shared<FakeUnixServer>(path, std::move(reply), delay, hold_open);
}

int connections_to(const FakeUnixServer& s) { return s.connections(); }

std::string posture_temp_dir() {
    char tmpl[] = "/tmp/vigil-posture-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    return tmpl;
}

std::string posture_sample(const std::string& rel) {
    std::ifstream in(std::string(VIGIL_SOURCE_DIR) + "/tests/posture/" + rel, std::ios::binary);
    REQUIRE(in.good());
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// The value of one signal in the store; "<missing>" when it has none.
std::string signal_in(const vigil::posture::SignalStore& store, const std::string& name) {
    for (const auto& s : store.snapshot()) {
        if (s.name == name) return s.value;
    }
    return "<missing>";
}

}  // namespace vigil::testing

using vigil::testing::posture_sample;
using vigil::testing::signal_in;

namespace {

// Catches what vigild would log (stderr) while it lives.
class CapturedStderr {
public:
    CapturedStderr() {
        std::fflush(stderr);
        saved_ = ::dup(STDERR_FILENO);
        char tmpl[] = "/tmp/vigil-stderr-XXXXXX";
        file_ = ::mkstemp(tmpl);
        path_ = tmpl;
        ::dup2(file_, STDERR_FILENO);
    }
    ~CapturedStderr() {
        restore();
        ::close(file_);
        ::unlink(path_.c_str());
    }
    std::string text() {
        restore();
        std::ifstream in(path_);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }

private:
    void restore() {
        if (saved_ < 0) return;
        std::fflush(stderr);
        ::dup2(saved_, STDERR_FILENO);
        ::close(saved_);
        saved_ = -1;
    }
    int saved_ = -1;
    int file_ = -1;
    std::string path_;
};

size_t count_of(const std::string& text, const std::string& needle) {
    size_t n = 0;
    for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
    return n;
}

SocketSettings edr_settings(const std::string& path) {
    SocketSettings s;
    s.name = "edr";
    s.path = path;
    s.request = "status\n";
    s.timeout = 300ms;
    s.interval = 1s;
    s.fields = {{"state", "sensor.state"}, {"score", "health.score"}};
    return s;
}

auto answer(const std::string& text) {
    return [text](const std::string&) { return text; };
}

std::optional<size_t> scan(const std::string& text, size_t chunk) {
    JsonValueEnd end;
    for (size_t at = 0; at < text.size(); at += chunk) {
        if (auto n = end.feed(std::string_view(text).substr(at, chunk))) return n;
    }
    return std::nullopt;
}

}  // namespace

TEST_CASE("JsonValueEnd finds the end of an object, whatever the chunking") {
    std::string pretty = posture_sample("socket/good_pretty.json");
    size_t close = pretty.rfind('}') + 1;
    for (size_t chunk : {1, 2, 7, 4096}) {
        INFO("chunk " << chunk);
        CHECK(scan(pretty + "trailing garbage", chunk) == close);
    }
    CHECK(scan("  [1, [2, {\"a\": \"]\"}]]\n", 3) == std::optional<size_t>(22));
    CHECK(scan("{\"a\": \"\\\"}\"}", 1) == std::optional<size_t>(12));  // escaped quote, brace in string
}

TEST_CASE("JsonValueEnd ends a scalar or garbage at the newline, waits on an open object") {
    CHECK(scan("42\n43\n", 1) == std::optional<size_t>(3));
    CHECK(scan("HTTP/1.0 404\r\n\r\n", 4) == std::optional<size_t>(14));
    CHECK(scan("{\"a\": {\"b\": 1}\n", 1) == std::nullopt);
    CHECK(scan("", 1) == std::nullopt);
    CHECK(scan("\xef\xbb\xbf{\n\"a\": 1\n}\n", 1) == std::optional<size_t>(13));  // a BOM first
}

TEST_CASE("json_path_text reads nested keys and array indexes as signal text") {
    auto doc = nlohmann::json::parse(posture_sample("socket/good_pretty.json"));
    CHECK(*vigil::posture::json_path_text(doc, "sensor.state") == "running");
    CHECK(*vigil::posture::json_path_text(doc, "health.score") == "87");
    CHECK(*vigil::posture::json_path_text(doc, "sensor.policy.prevention") == "true");
    CHECK(*vigil::posture::json_path_text(doc, "health.checks.1.name") == "cloud");
    CHECK(vigil::posture::json_path_text(doc, "health.checks.9.name").error().message ==
          "health.checks.9.name: not in the answer");
    CHECK(vigil::posture::json_path_text(doc, "sensor").error().message == "sensor: is an object, not a value");
    CHECK(vigil::posture::json_path_text(doc, "health.checks").error().message ==
          "health.checks: is an array, not a value");
    CHECK(!vigil::posture::json_path_text(doc, "sensor..state"));
    CHECK(!vigil::posture::check_json_path(""));
    CHECK(!vigil::posture::check_json_path("a."));
}

TEST_CASE("parse_socket_answer: fields to signals, a missing field is a problem, garbage an error") {
    auto s = edr_settings("/run/edr.sock");
    auto good = vigil::posture::parse_socket_answer(posture_sample("socket/good_line.json"), s);
    REQUIRE(good);
    CHECK(good->values ==
          vigil::posture::SignalValues{{"edr.state", "running"}, {"edr.score", "87"}, {"edr.reachable", "true"}});
    CHECK(good->problems.empty());

    auto partial = vigil::posture::parse_socket_answer(posture_sample("socket/partial.json"), s);
    REQUIRE(partial);
    CHECK(partial->values == vigil::posture::SignalValues{{"edr.state", "stopped"}, {"edr.reachable", "true"}});
    CHECK(partial->problems == std::vector<std::string>{"health.score: not in the answer"});

    auto odd = vigil::posture::parse_socket_answer(posture_sample("socket/not_values.json"), s);
    REQUIRE(odd);
    CHECK(odd->problems.size() == 2);

    CHECK(vigil::posture::parse_socket_answer(posture_sample("socket/truncated.json"), s).error().message ==
          "answer is not JSON");
    CHECK(vigil::posture::parse_socket_answer(posture_sample("socket/garbage.txt"), s).error().message ==
          "answer is not JSON");
    CHECK(vigil::posture::parse_socket_answer("  \n", s).error().message == "empty answer");
}

TEST_CASE("parse_socket_answer survives deep nesting and binary junk") {
    auto s = edr_settings("/run/edr.sock");
    std::string deep(60000, '[');
    CHECK(!vigil::posture::parse_socket_answer(deep, s));
    std::string balanced = std::string(30000, '[') + std::string(30000, ']');
    auto r = vigil::posture::parse_socket_answer(balanced, s);
    REQUIRE(r);
    CHECK(r->problems.size() == 2);
    std::string junk;
    for (int i = 0; i < 4096; ++i) junk.push_back(static_cast<char>((i * 131) & 0xff));
    CHECK(!vigil::posture::parse_socket_answer(junk, s));
}

TEST_CASE("validate(SocketSettings) refuses what cannot run or would clash") {
    auto s = edr_settings("/run/edr.sock");
    CHECK(vigil::posture::validate(s));
    auto bad = s;
    bad.name = "edr sock";
    CHECK(!vigil::posture::validate(bad));
    bad = s;
    bad.path = "edr.sock";
    CHECK(!vigil::posture::validate(bad));
    bad = s;
    bad.fields["reachable"] = "x";
    CHECK(!vigil::posture::validate(bad));
    bad = s;
    bad.fields["x"] = "a..b";
    CHECK(!vigil::posture::validate(bad));
    bad = s;
    bad.fields["x>1"] = "a";
    CHECK(!vigil::posture::validate(bad));
    bad = s;
    bad.timeout = 2s;
    CHECK(!vigil::posture::validate(bad));
    bad = s;
    bad.max_response = 0;
    CHECK(!vigil::posture::validate(bad));
    bad = s;
    bad.fields.clear();
    CHECK(!vigil::posture::validate(bad));
}

TEST_CASE("exchange_unix: request sent, answer cut where the end says, errors named") {
    std::string dir = vigil::testing::posture_temp_dir();
    std::string path = dir + "/agent.sock";
    auto server = vigil::testing::start_fake_unix_server(path, answer("{\"a\":1}\n{\"b\":2}\n"), 0ms, true);
    JsonValueEnd end;
    auto t0 = std::chrono::steady_clock::now();
    auto got =
        vigil::posture::exchange_unix({path, "status\n", 2000ms, 1024},
                                      [&end](std::string_view all, size_t from) { return end.feed(all.substr(from)); });
    REQUIRE(got);
    CHECK(*got == "{\"a\":1}");
    CHECK(std::chrono::steady_clock::now() - t0 < 1000ms);  // not held until the deadline
    CHECK(server->last_request() == "status\n");

    auto absent = vigil::posture::exchange_unix({dir + "/none.sock", "", 200ms, 1024}, vigil::posture::end_at_nul);
    CHECK(absent.error().message == "no socket at " + dir + "/none.sock");
    auto too_long =
        vigil::posture::exchange_unix({"/" + std::string(200, 'x'), "", 200ms, 1024}, vigil::posture::end_at_nul);
    CHECK(!too_long);
    server.reset();
    std::filesystem::remove_all(dir);
}

TEST_CASE("exchange_unix: a stale socket file with nobody listening is refused") {
    std::string dir = vigil::testing::posture_temp_dir();
    std::string path = dir + "/stale.sock";
    { auto server = vigil::testing::start_fake_unix_server(path, answer(""), 0ms, false); }
    // The server unlinks on exit; leave a bound, unlistened socket instead.
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size());
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    auto r = vigil::posture::exchange_unix({path, "", 200ms, 1024}, vigil::posture::end_at_nul);
    CHECK(r.error().message == "nothing listening on " + path);
    ::close(fd);
    std::filesystem::remove_all(dir);
}

TEST_CASE("socket collector publishes the fields and reachable for a good answer") {
    std::string dir = vigil::testing::posture_temp_dir();
    std::string path = dir + "/edr.sock";
    auto server =
        vigil::testing::start_fake_unix_server(path, answer(posture_sample("socket/good_pretty.json")), 0ms, true);
    SignalStore store;
    SocketCollector c(edr_settings(path), store);
    c.collect_once();
    CHECK(signal_in(store, "edr.state") == "running");
    CHECK(signal_in(store, "edr.score") == "87");
    CHECK(signal_in(store, "edr.reachable") == "true");
    CHECK(store.snapshot().size() == 3);
    for (const auto& s : store.snapshot()) CHECK(s.source == "socket");
    server.reset();
    std::filesystem::remove_all(dir);
}

TEST_CASE("socket collector: every failure forgets the fields and says unreachable") {
    std::string dir = vigil::testing::posture_temp_dir();
    std::string path = dir + "/edr.sock";
    SignalStore store;
    SocketCollector c(edr_settings(path), store);
    auto good = [&] {
        auto server =
            vigil::testing::start_fake_unix_server(path, answer(posture_sample("socket/good_line.json")), 0ms, false);
        c.collect_once();
        REQUIRE(signal_in(store, "edr.state") == "running");
        REQUIRE(signal_in(store, "edr.reachable") == "true");
    };
    auto expect_failed = [&] {
        CHECK(signal_in(store, "edr.state") == "<missing>");
        CHECK(signal_in(store, "edr.score") == "<missing>");
        CHECK(signal_in(store, "edr.reachable") == "false");
    };

    SECTION("socket absent") {
        good();
        c.collect_once();
        expect_failed();
    }
    SECTION("answer past the deadline") {
        good();
        auto slow = vigil::testing::start_fake_unix_server(path, answer(posture_sample("socket/good_line.json")),
                                                           1000ms, false);
        auto t0 = std::chrono::steady_clock::now();
        c.collect_once();
        CHECK(std::chrono::steady_clock::now() - t0 < 800ms);
        expect_failed();
    }
    SECTION("connection held open without an answer") {
        good();
        auto silent = vigil::testing::start_fake_unix_server(path, answer("{\"sensor\": {\"state\": \"run"), 0ms, true);
        c.collect_once();
        expect_failed();
    }
    SECTION("malformed JSON") {
        good();
        auto bad =
            vigil::testing::start_fake_unix_server(path, answer(posture_sample("socket/truncated.json")), 0ms, false);
        c.collect_once();
        expect_failed();
    }
    SECTION("answer larger than max_response") {
        good();
        std::string huge = "{\"sensor\":{\"state\":\"running\"},\"pad\":\"" + std::string(200 * 1024, 'x') + "\"}\n";
        auto big = vigil::testing::start_fake_unix_server(path, answer(huge), 0ms, false);
        c.collect_once();
        expect_failed();
    }
    SECTION("peer closes without a word") {
        good();
        auto mute = vigil::testing::start_fake_unix_server(path, answer(""), 0ms, false);
        c.collect_once();
        expect_failed();
    }
    SECTION("a field that turns into an object is missing on its own") {
        good();
        auto odd = vigil::testing::start_fake_unix_server(
            path, answer("{\"sensor\":{\"state\":{\"x\":1}},\"health\":{\"score\":5}}\n"), 0ms, false);
        c.collect_once();
        CHECK(signal_in(store, "edr.state") == "<missing>");
        CHECK(signal_in(store, "edr.score") == "5");
        CHECK(signal_in(store, "edr.reachable") == "true");
    }
    SECTION("control characters in a value are refused") {
        good();
        auto odd = vigil::testing::start_fake_unix_server(
            path, answer("{\"sensor\":{\"state\":\"run\\u001b[31m\"},\"health\":{\"score\":5}}\n"), 0ms, false);
        c.collect_once();
        CHECK(signal_in(store, "edr.state") == "<missing>");
        CHECK(signal_in(store, "edr.score") == "5");
    }
    SECTION("recovers when the agent answers again") {
        c.collect_once();
        expect_failed();
        good();
    }
    std::filesystem::remove_all(dir);
}

TEST_CASE("socket collector logs a failure once per change, not once per interval") {
    std::string dir = vigil::testing::posture_temp_dir();
    std::string path = dir + "/edr.sock";
    SignalStore store;
    SocketCollector c(edr_settings(path), store);
    CapturedStderr err;
    for (int i = 0; i < 3; ++i) c.collect_once();  // absent, thrice
    {
        auto server =
            vigil::testing::start_fake_unix_server(path, answer(posture_sample("socket/good_line.json")), 0ms, false);
        for (int i = 0; i < 3; ++i) c.collect_once();
    }
    for (int i = 0; i < 3; ++i) c.collect_once();  // absent again
    std::string log = err.text();
    INFO(log);
    CHECK(count_of(log, "no socket at " + path) == 2);
    CHECK(count_of(log, "reading again") == 1);
    CHECK(count_of(log, "\n") == 3);
    std::filesystem::remove_all(dir);
}

TEST_CASE("socket collector thread collects at once and stops promptly") {
    std::string dir = vigil::testing::posture_temp_dir();
    std::string path = dir + "/edr.sock";
    auto server =
        vigil::testing::start_fake_unix_server(path, answer(posture_sample("socket/good_line.json")), 0ms, false);
    SignalStore store;
    auto s = edr_settings(path);
    s.interval = 50ms;
    s.timeout = 50ms;
    SocketCollector c(s, store);
    c.start();
    for (int i = 0; i < 100 && vigil::testing::connections_to(*server) < 3; ++i) std::this_thread::sleep_for(10ms);
    auto t0 = std::chrono::steady_clock::now();
    c.stop();
    CHECK(std::chrono::steady_clock::now() - t0 < 500ms);
    CHECK(vigil::testing::connections_to(*server) >= 3);
    CHECK(signal_in(store, "edr.state") == "running");
    server.reset();
    std::filesystem::remove_all(dir);
}
