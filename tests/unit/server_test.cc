// The socket layer: what each socket answers (the route table), what it
// refuses, and the caps on the grant socket. Real unix sockets in a
// temporary directory; the engine decides by local rules.
#include "server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <thread>

#include "config.h"
#include "engine_testing.h"
#include "frame_io.h"
#include "grant_admission.h"
#include "http_testing.h"
#include "unix_listener.h"

namespace {

const char* kRules = R"(
[[rule]]
name = "root may ssh"
services = ["sshd"]
users = ["root"]
decision = "allow"
)";

struct Sockets {
    std::filesystem::path dir;
    vigil::UniqueFd pam, admin, grant;

    Sockets() {
        char tmpl[] = "/tmp/vigil-server-test.XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        dir = tmpl;
        pam = listen_at("pam.sock", 0600);
        admin = listen_at("admin.sock", 0600);
        grant = listen_at("grant.sock", 0666);
    }
    ~Sockets() { std::filesystem::remove_all(dir); }

    vigil::UniqueFd listen_at(const char* name, mode_t mode) {
        auto fd = vigil::listen_unix((dir / name).string(), mode);
        REQUIRE(fd);
        // vigild's listeners are non-blocking: accept_from takes what is pending.
        ::fcntl(fd->get(), F_SETFL, ::fcntl(fd->get(), F_GETFL) | O_NONBLOCK);
        return std::move(*fd);
    }
};

std::shared_ptr<vigil::Engine> local_engine() { return vigil::testing::engine_on(kRules); }

// Connects, sends one frame, lets the server accept it, and reads what comes
// back: an answer, or nothing when the server closed the connection.
std::optional<vigil::Frame> exchange(vigil::Server& server, const Sockets& s, const char* name, vigil::Listener which,
                                     const std::vector<uint8_t>& frame) {
    auto conn = vigil::connect_unix((s.dir / name).string());
    REQUIRE(conn);
    REQUIRE(vigil::write_frame(conn->get(), frame, std::chrono::milliseconds(2000)));
    const vigil::UniqueFd& listener = which == vigil::Listener::Pam     ? s.pam
                                      : which == vigil::Listener::Admin ? s.admin
                                                                        : s.grant;
    server.accept_from(listener.get(), which);
    auto answer = vigil::read_frame(conn->get(), std::chrono::milliseconds(5000));
    if (!answer) return std::nullopt;  // reset by the server
    return *answer ? std::optional<vigil::Frame>(std::move(**answer)) : std::nullopt;
}

std::string field(const vigil::Frame& f, vigil::wire::Tag want) {
    vigil::wire::Reader r(f.payload.data(), f.payload.size());
    vigil::wire::Tag tag{};
    std::string_view v;
    while (r.next(tag, v)) {
        if (tag == want) return std::string(v);
    }
    return "";
}

// How many PAM requests the server answered on the loop thread (its ping).
int answered_at_once(vigil::Server& server, const Sockets& s) {
    auto ping = vigil::build_frame(vigil::wire::Kind::AdminPing, {});
    REQUIRE(ping);
    auto answer = exchange(server, s, "admin.sock", vigil::Listener::Admin, *ping);
    REQUIRE(answer);
    return nlohmann::json::parse(field(*answer, vigil::wire::Tag::Json))["answered_at_once"].get<int>();
}

// budget_ms: the module's timeout= as it sends it; asked_at_ms: its
// monotonic clock as it began (none: not sent).
std::vector<uint8_t> account_request(const std::string& user, const std::string& budget_ms = "",
                                     const std::string& asked_at_ms = "") {
    std::string pid = std::to_string(::getpid());
    std::vector<std::pair<vigil::wire::Tag, std::string_view>> fields = {
        {vigil::wire::Tag::User, user}, {vigil::wire::Tag::Service, "sshd"}, {vigil::wire::Tag::Pid, pid}};
    if (!budget_ms.empty()) fields.emplace_back(vigil::wire::Tag::BudgetMs, budget_ms);
    if (!asked_at_ms.empty()) fields.emplace_back(vigil::wire::Tag::AskedAtMs, asked_at_ms);
    auto f = vigil::build_frame(vigil::wire::Kind::Account, fields);
    REQUIRE(f);
    return *f;
}

}  // namespace

TEST_CASE("server: the PAM socket answers a PAM request; other sockets do not serve it") {
    Sockets s;
    vigil::Server server(vigil::ServerOptions{}, [engine = local_engine()] { return engine; });
    if (::getuid() != 0) {
        // Only root may connect to the PAM socket: anyone else is closed on.
        CHECK_FALSE(exchange(server, s, "pam.sock", vigil::Listener::Pam, account_request("root")));
        return;
    }
    auto answer = exchange(server, s, "pam.sock", vigil::Listener::Pam, account_request("root"));
    REQUIRE(answer);
    CHECK(answer->kind == static_cast<uint16_t>(vigil::wire::answer_to(vigil::wire::Kind::Account)));
    CHECK(field(*answer, vigil::wire::Tag::Outcome) == vigil::wire::kOutcomeAllow);
    CHECK_FALSE(field(*answer, vigil::wire::Tag::RequestId).empty());

    SECTION("the same request on the admin socket is not served: closed, no answer") {
        CHECK_FALSE(exchange(server, s, "admin.sock", vigil::Listener::Admin, account_request("root")));
    }
    SECTION("the same request on the grant socket is not served either") {
        CHECK_FALSE(exchange(server, s, "grant.sock", vigil::Listener::Grant, account_request("root")));
    }
}

TEST_CASE("server: a PAM request it cannot read is answered with a deny, not a closed socket") {
    if (::getuid() != 0) return;  // the PAM socket takes root only (case above)
    Sockets s;
    vigil::Server server(vigil::ServerOptions{}, [engine = local_engine()] { return engine; });
    SECTION("a kind the table does not list") {
        auto f = vigil::build_frame(static_cast<vigil::wire::Kind>(0x7e), {{vigil::wire::Tag::User, "root"}});
        REQUIRE(f);
        auto answer = exchange(server, s, "pam.sock", vigil::Listener::Pam, *f);
        REQUIRE(answer);
        CHECK(field(*answer, vigil::wire::Tag::Outcome) == vigil::wire::kOutcomeDeny);
    }
    SECTION("a request without a service") {
        auto f = vigil::build_frame(vigil::wire::Kind::Account, {{vigil::wire::Tag::User, "root"}});
        REQUIRE(f);
        auto answer = exchange(server, s, "pam.sock", vigil::Listener::Pam, *f);
        REQUIRE(answer);
        CHECK(field(*answer, vigil::wire::Tag::Outcome) == vigil::wire::kOutcomeDeny);
        CHECK(field(*answer, vigil::wire::Tag::ReasonUser).starts_with("access denied"));
    }
    SECTION("a user NSS does not know is denied by the engine, answered all the same") {
        auto answer = exchange(server, s, "pam.sock", vigil::Listener::Pam, account_request("no-such-user-vigil"));
        REQUIRE(answer);
        CHECK(field(*answer, vigil::wire::Tag::Outcome) == vigil::wire::kOutcomeDeny);
    }
}

TEST_CASE("server: the admin socket answers a ping as JSON") {
    if (::getuid() != 0) return;
    Sockets s;
    vigil::Server server(vigil::ServerOptions{}, [engine = local_engine()] { return engine; });
    auto ping = vigil::build_frame(vigil::wire::Kind::AdminPing, {});
    REQUIRE(ping);
    auto answer = exchange(server, s, "admin.sock", vigil::Listener::Admin, *ping);
    REQUIRE(answer);
    auto j = nlohmann::json::parse(field(*answer, vigil::wire::Tag::Json));
    CHECK(j["status"] == "ok");
    SECTION("on the PAM socket, an admin request is a request it cannot serve: a deny, no JSON") {
        auto pam = exchange(server, s, "pam.sock", vigil::Listener::Pam, *ping);
        REQUIRE(pam);
        CHECK(field(*pam, vigil::wire::Tag::Outcome) == vigil::wire::kOutcomeDeny);
        CHECK(field(*pam, vigil::wire::Tag::Json).empty());
    }
}

TEST_CASE("server: an account request for a user already known is answered on the loop thread, the same answer") {
    if (::getuid() != 0) return;
    Sockets s;
    vigil::Server server(vigil::ServerOptions{}, [engine = local_engine()] { return engine; });
    auto at_once = [&] { return answered_at_once(server, s); };
    // The first asks NSS: a worker's job. The second finds root cached.
    auto first = exchange(server, s, "pam.sock", vigil::Listener::Pam, account_request("root"));
    REQUIRE(first);
    CHECK(at_once() == 0);
    auto second = exchange(server, s, "pam.sock", vigil::Listener::Pam, account_request("root"));
    REQUIRE(second);
    CHECK(at_once() == 1);
    CHECK(field(*second, vigil::wire::Tag::Outcome) == vigil::wire::kOutcomeAllow);
    CHECK(field(*second, vigil::wire::Tag::Outcome) == field(*first, vigil::wire::Tag::Outcome));
    CHECK(field(*second, vigil::wire::Tag::RequestId) != field(*first, vigil::wire::Tag::RequestId));
    SECTION("a request that cannot be read still goes to a worker, which denies it") {
        auto f = vigil::build_frame(vigil::wire::Kind::Account, {{vigil::wire::Tag::User, "root"}});
        REQUIRE(f);
        auto answer = exchange(server, s, "pam.sock", vigil::Listener::Pam, *f);
        REQUIRE(answer);
        CHECK(field(*answer, vigil::wire::Tag::Outcome) == vigil::wire::kOutcomeDeny);
        CHECK(at_once() == 1);
    }
}

namespace {

// A server whose only worker is held for about a second: an account request
// for root at the console asks a PDP that never answers (its 1 s timeout).
// identity_cache = "0" sends every other request to a worker too.
struct HeldWorker {
    Sockets s;
    std::shared_ptr<vigil::testing::TestHttpServer> pdp = vigil::testing::start_test_server(200, true);
    vigil::Server server;
    vigil::UniqueFd holder;

    static vigil::ServerOptions one_worker() {
        vigil::ServerOptions o;
        o.max_concurrent = 1;
        return o;
    }
    static std::shared_ptr<vigil::Engine> engine(const std::string& url) {
        return vigil::testing::engine_on(R"([agent]
identity_cache = "0"

[pdp]
protocol = "authzen"
urls = [")" + url + R"("]
timeout = "1s"

[[rule]]
name = "root may ssh"
services = ["sshd"]
users = ["root"]
decision = "allow"
ask_pdp = false

[[rule]]
name = "root at the console, if the PDP agrees"
services = ["login"]
users = ["root"]
decision = "allow"
)");
    }

    HeldWorker() : server(one_worker(), [e = engine(vigil::testing::url_of(*pdp))] { return e; }) {
        std::string pid = std::to_string(::getpid());
        auto f = vigil::build_frame(
            vigil::wire::Kind::Account,
            {{vigil::wire::Tag::User, "root"}, {vigil::wire::Tag::Service, "login"}, {vigil::wire::Tag::Pid, pid}});
        REQUIRE(f);
        auto conn = vigil::connect_unix((s.dir / "pam.sock").string());
        REQUIRE(conn);
        REQUIRE(vigil::write_frame(conn->get(), *f, std::chrono::milliseconds(2000)));
        server.accept_from(s.pam.get(), vigil::Listener::Pam);
        holder = std::move(*conn);
        // The worker has it once the PDP has been asked.
        for (int i = 0; i < 500 && vigil::testing::requests_to(*pdp) == 0; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        REQUIRE(vigil::testing::requests_to(*pdp) == 1);
    }

    // Sends f, lets the server accept it; the connection, for the answer.
    vigil::UniqueFd ask(const std::vector<uint8_t>& f) {
        auto conn = vigil::connect_unix((s.dir / "pam.sock").string());
        REQUIRE(conn);
        REQUIRE(vigil::write_frame(conn->get(), f, std::chrono::milliseconds(2000)));
        server.accept_from(s.pam.get(), vigil::Listener::Pam);
        return std::move(*conn);
    }
};

}  // namespace

TEST_CASE("server: a known user's request that reaches the loop past its answer_by is told busy, not begun") {
    if (::getuid() != 0) return;
    Sockets s;
    vigil::Server server(vigil::ServerOptions{}, [engine = local_engine()] { return engine; });
    REQUIRE(exchange(server, s, "pam.sock", vigil::Listener::Pam, account_request("root")));  // root now cached
    auto ms_ago = [](int ms) {
        auto t = std::chrono::steady_clock::now() - std::chrono::milliseconds(ms);
        return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count());
    };
    // 1000 ms budget, asked 900 ms ago: 50 ms past answer_by (1000 - 150).
    auto late = exchange(server, s, "pam.sock", vigil::Listener::Pam, account_request("root", "1000", ms_ago(900)));
    REQUIRE(late);
    CHECK(field(*late, vigil::wire::Tag::ReasonUser).starts_with("access check busy"));
    CHECK(answered_at_once(server, s) == 0);
    SECTION("unless the whole budget is within the margin: a busy answer is never in time then, a decision may be") {
        auto tiny = exchange(server, s, "pam.sock", vigil::Listener::Pam, account_request("root", "100", ms_ago(1)));
        REQUIRE(tiny);
        CHECK(field(*tiny, vigil::wire::Tag::Outcome) == vigil::wire::kOutcomeAllow);
        CHECK(answered_at_once(server, s) == 1);
    }
}

TEST_CASE("server: a request waits for a busy worker, and is told \"busy\" only before its budget runs out") {
    if (::getuid() != 0) return;
    HeldWorker h;
    auto sent = std::chrono::steady_clock::now();
    auto conn = h.ask(account_request("root", "600"));
    auto answer = vigil::read_frame(conn.get(), std::chrono::milliseconds(5000));
    auto waited = std::chrono::steady_clock::now() - sent;
    REQUIRE(answer);
    REQUIRE(*answer);
    CHECK(field(**answer, vigil::wire::Tag::Outcome) == vigil::wire::kOutcomeDeny);
    CHECK(field(**answer, vigil::wire::Tag::ReasonUser).starts_with("access check busy"));
    // Told in time: before the module's 600 ms are up, not at once.
    CHECK(waited < std::chrono::milliseconds(600));
    CHECK(waited >= std::chrono::milliseconds(300));
}

TEST_CASE("server: a request whose module began 400 ms ago (the backlog) is told busy 400 ms sooner") {
    if (::getuid() != 0) return;
    HeldWorker h;
    auto began = std::chrono::steady_clock::now() - std::chrono::milliseconds(400);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(began.time_since_epoch()).count();
    auto at = std::chrono::steady_clock::now();
    auto late = h.ask(account_request("root", "600", std::to_string(ms)));
    auto told = vigil::read_frame(late.get(), std::chrono::milliseconds(5000));
    REQUIRE(told);
    REQUIRE(*told);
    CHECK(field(**told, vigil::wire::Tag::ReasonUser).starts_with("access check busy"));
    // Its answer_by (600 - 150 ms after it began) was 50 ms away, not 450.
    CHECK(std::chrono::steady_clock::now() - at < std::chrono::milliseconds(300));
}

TEST_CASE("server: once the worker is free, a waiting request is decided, not refused") {
    if (::getuid() != 0) return;
    HeldWorker h;
    auto next = h.ask(account_request("root", "3000"));
    // The holder's PDP call gives up after 1 s; then the worker takes this one.
    auto decided = vigil::read_frame(next.get(), std::chrono::milliseconds(5000));
    REQUIRE(decided);
    REQUIRE(*decided);
    CHECK(field(**decided, vigil::wire::Tag::Outcome) == vigil::wire::kOutcomeAllow);
    auto held = vigil::read_frame(h.holder.get(), std::chrono::milliseconds(5000));
    REQUIRE(held);
    REQUIRE(*held);
    CHECK(field(**held, vigil::wire::Tag::Outcome) == vigil::wire::kOutcomeDeny);  // no PDP answer: the fallback denies
}

TEST_CASE("server: a connection whose frame has not come holds no worker; the frame is answered when it comes") {
    if (::getuid() != 0) return;
    Sockets s;
    vigil::ServerOptions options;
    options.max_concurrent = 1;
    vigil::Server server(options, [engine = local_engine()] { return engine; });
    std::vector<vigil::UniqueFd> silent;
    for (int i = 0; i < 3; ++i) {
        auto conn = vigil::connect_unix((s.dir / "pam.sock").string());
        REQUIRE(conn);
        silent.push_back(std::move(*conn));
    }
    server.accept_from(s.pam.get(), vigil::Listener::Pam);
    CHECK(server.waiting_for_frames() == 3);
    CHECK(server.workers() == 0);
    // A request that needs the one worker (root not known yet: NSS) is decided.
    auto answer = exchange(server, s, "pam.sock", vigil::Listener::Pam, account_request("root"));
    REQUIRE(answer);
    CHECK(field(*answer, vigil::wire::Tag::Outcome) == vigil::wire::kOutcomeAllow);

    auto poll_arrivals = [&] {
        pollfd p{server.arrivals_fd(), POLLIN, 0};
        REQUIRE(::poll(&p, 1, 2000) == 1);
        server.take_arrivals();
    };
    SECTION("a frame sent whole later is answered") {
        REQUIRE(vigil::write_frame(silent[0].get(), account_request("root"), std::chrono::milliseconds(2000)));
        poll_arrivals();
        auto late = vigil::read_frame(silent[0].get(), std::chrono::milliseconds(5000));
        REQUIRE(late);
        REQUIRE(*late);
        CHECK(field(**late, vigil::wire::Tag::Outcome) == vigil::wire::kOutcomeAllow);
        CHECK(server.waiting_for_frames() == 2);
    }
    SECTION("a frame sent in two parts is answered after the second") {
        auto f = account_request("root");
        REQUIRE(::send(silent[1].get(), f.data(), 10, 0) == 10);
        poll_arrivals();
        CHECK(server.waiting_for_frames() == 3);  // half a frame: still waiting
        REQUIRE(::send(silent[1].get(), f.data() + 10, f.size() - 10, 0) == static_cast<ssize_t>(f.size() - 10));
        poll_arrivals();
        auto late = vigil::read_frame(silent[1].get(), std::chrono::milliseconds(5000));
        REQUIRE(late);
        REQUIRE(*late);
        CHECK(field(**late, vigil::wire::Tag::Outcome) == vigil::wire::kOutcomeAllow);
    }
    SECTION("a peer that hangs up before its frame is let go") {
        silent[2].reset();
        poll_arrivals();
        CHECK(server.waiting_for_frames() == 2);
    }
}

TEST_CASE(
    "server: a connection without a frame within read_timeout is closed; one still coming at a stop is answered") {
    if (::getuid() != 0) return;
    Sockets s;
    vigil::ServerOptions options;
    options.read_timeout = std::chrono::milliseconds(100);
    auto server = std::make_unique<vigil::Server>(options, [engine = local_engine()] { return engine; });
    auto slow = vigil::connect_unix((s.dir / "pam.sock").string());
    REQUIRE(slow);
    auto late = vigil::connect_unix((s.dir / "pam.sock").string());
    REQUIRE(late);
    server->accept_from(s.pam.get(), vigil::Listener::Pam);
    REQUIRE(server->waiting_for_frames() == 2);
    REQUIRE(server->next_expiry());
    server->expire_arrivals();  // not yet
    CHECK(server->waiting_for_frames() == 2);
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    server->expire_arrivals();
    CHECK(server->waiting_for_frames() == 0);
    auto closed = vigil::read_frame(slow->get(), std::chrono::milliseconds(2000));
    REQUIRE(closed);
    CHECK_FALSE(*closed);  // end of stream, no answer

    SECTION("at a stop, a connection whose frame is still coming goes to a worker, which answers it") {
        options.read_timeout = std::chrono::milliseconds(5000);
        server = std::make_unique<vigil::Server>(options, [engine = local_engine()] { return engine; });
        auto coming = vigil::connect_unix((s.dir / "pam.sock").string());
        REQUIRE(coming);
        server->accept_from(s.pam.get(), vigil::Listener::Pam);
        REQUIRE(server->waiting_for_frames() == 1);
        std::thread stop([&] { server.reset(); });
        REQUIRE(vigil::write_frame(coming->get(), account_request("root"), std::chrono::milliseconds(2000)));
        auto answer = vigil::read_frame(coming->get(), std::chrono::milliseconds(5000));
        stop.join();
        REQUIRE(answer);
        REQUIRE(*answer);
        CHECK(field(**answer, vigil::wire::Tag::Outcome) == vigil::wire::kOutcomeAllow);
    }
}

TEST_CASE("server: one accept_from takes at most kAcceptsPerCall connections; the rest wait in the backlog") {
    if (::getuid() != 0) return;
    Sockets s;
    vigil::Server server(vigil::ServerOptions{}, [engine = local_engine()] { return engine; });
    // Clients that never stop asking keep the backlog full: the loop must
    // still come back to its signals (a restart under load, e2e-restart).
    constexpr int kExtra = 5;
    auto ping = vigil::build_frame(vigil::wire::Kind::AdminPing, {});
    REQUIRE(ping);
    std::vector<vigil::UniqueFd> clients;
    for (int i = 0; i < vigil::Server::kAcceptsPerCall + kExtra; ++i) {
        auto conn = vigil::connect_unix((s.dir / "admin.sock").string());
        REQUIRE(conn);
        REQUIRE(vigil::write_frame(conn->get(), *ping, std::chrono::milliseconds(2000)));
        clients.push_back(std::move(*conn));
    }
    server.accept_from(s.admin.get(), vigil::Listener::Admin);
    for (int i = 0; i < vigil::Server::kAcceptsPerCall; ++i) {
        auto answer = vigil::read_frame(clients[i].get(), std::chrono::milliseconds(5000));
        REQUIRE(answer);
        CHECK(*answer);
    }
    int left = 0;
    while (vigil::UniqueFd(::accept4(s.admin.get(), nullptr, nullptr, SOCK_CLOEXEC))) ++left;
    CHECK(left == kExtra);
}

TEST_CASE(
    "server: with a PDP, a cached allow is answered on the loop thread; a PDP call is begun there, asked on a worker") {
    if (::getuid() != 0) return;
    Sockets s;
    auto pdp = vigil::testing::start_test_server(200, false);
    vigil::testing::set_body(*pdp, R"({"decision": true})");
    auto engine_with_cache = [&](int seconds) {
        return vigil::testing::engine_on("[pdp]\nprotocol = \"authzen\"\nurls = [\"" + vigil::testing::url_of(*pdp) +
                                         "\"]\ntimeout = \"2s\"\ncache_allow_seconds = " + std::to_string(seconds) +
                                         "\ncache_services = [\"sshd\"]\n" + kRules);
    };
    auto at_once = [&](vigil::Server& server) { return answered_at_once(server, s); };
    auto allowed = [&](vigil::Server& server) {
        auto answer = exchange(server, s, "pam.sock", vigil::Listener::Pam, account_request("root"));
        REQUIRE(answer);
        return field(*answer, vigil::wire::Tag::Outcome) == vigil::wire::kOutcomeAllow;
    };
    SECTION("a cached allow: no worker, no PDP call") {
        vigil::Server server(vigil::ServerOptions{}, [engine = engine_with_cache(60)] { return engine; });
        CHECK(allowed(server));  // the user not known yet: a worker, and the PDP asked
        CHECK(vigil::testing::requests_to(*pdp) == 1);
        CHECK(allowed(server));
        CHECK(vigil::testing::requests_to(*pdp) == 1);
        CHECK(at_once(server) == 1);
    }
    SECTION("no cache: begun on the loop, the PDP asked by a worker") {
        vigil::Server server(vigil::ServerOptions{}, [engine = engine_with_cache(0)] { return engine; });
        CHECK(allowed(server));
        CHECK(allowed(server));
        CHECK(vigil::testing::requests_to(*pdp) == 2);
        CHECK(at_once(server) == 0);
        vigil::testing::set_body(*pdp, R"({"decision": false})");
        auto denied = exchange(server, s, "pam.sock", vigil::Listener::Pam, account_request("root"));
        REQUIRE(denied);
        CHECK(field(*denied, vigil::wire::Tag::Outcome) == vigil::wire::kOutcomeDeny);
        CHECK(vigil::testing::requests_to(*pdp) == 3);
    }
}

TEST_CASE("server: a worker idle for worker_idle ends; the next request starts one again") {
    if (::getuid() != 0) return;
    Sockets s;
    vigil::ServerOptions options;
    options.worker_idle = std::chrono::milliseconds(50);
    // identity_cache = "0": every request asks NSS, on a worker.
    vigil::Server server(options, [engine = vigil::testing::engine_on(std::string("[agent]\nidentity_cache = \"0\"\n") +
                                                                      kRules)] { return engine; });
    auto through_a_worker = [&] {
        auto answer = exchange(server, s, "pam.sock", vigil::Listener::Pam, account_request("root"));
        REQUIRE(answer);
        CHECK(field(*answer, vigil::wire::Tag::Outcome) == vigil::wire::kOutcomeAllow);
    };
    auto at_once = [&] { return answered_at_once(server, s); };
    auto workers_drop_to_zero = [&] {
        for (int i = 0; i < 500 && server.workers() > 0; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        return server.workers() == 0;
    };
    through_a_worker();
    CHECK(workers_drop_to_zero());
    through_a_worker();  // the ended worker joined, a new one started
    CHECK(workers_drop_to_zero());
    CHECK(at_once() == 0);  // both went through a worker (the pings too)
}

TEST_CASE("grant admission: at most 4 connections in hand, 2 per uid, given back on release") {
    vigil::GrantAdmission a;
    CHECK(a.admit(1000, 1));
    CHECK(a.admit(1000, 2));
    CHECK_FALSE(a.admit(1000, 3));  // uid 1000 holds its two
    CHECK(a.admit(1001, 4));
    CHECK(a.admit(1002, 5));
    CHECK(a.in_hand() == 4);
    CHECK_FALSE(a.admit(1003, 6));  // four in hand
    CHECK(a.refused() == 2);
    a.release(1000);
    CHECK(a.in_hand() == 3);
    CHECK(a.admit(1003, 7));
    CHECK_FALSE(a.admit(1000, 8));  // four again
    a.release(1003);
    CHECK(a.admit(1000, 9));
    SECTION("a release of a uid never admitted gives nothing back") {
        a.release(4242);
        CHECK(a.in_hand() == 4);
    }
}
