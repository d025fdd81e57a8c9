#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <sstream>

#include "break_glass_spool.h"
#include "config.h"
#include "engine.h"
#include "engine_testing.h"
#include "health.h"
#include "protocol.h"
#include "request_codec.h"
#include "rollout_report.h"

using vigil::Mode;
using vigil::Outcome;
using vigil::Phase;

namespace {

const char* kRules = R"(
[[rule]]
name = "root may ssh"
services = ["sshd"]
users = ["root"]
decision = "allow"

[[rule]]
name = "root may not sudo"
services = ["sudo"]
users = ["root"]
decision = "deny"
)";

std::shared_ptr<vigil::Engine> engine_on(const std::string& rollout) {
    return vigil::testing::engine_on(kRules + rollout);
}

vigil::Request request(Phase phase, const std::string& service) {
    vigil::Request q;
    q.phase = phase;
    q.user = "root";
    q.service = service;
    return q;
}

std::string answered_outcome(const std::vector<uint8_t>& frame) {
    vigil::wire::Reader r(frame.data() + vigil::wire::kHeaderSize, frame.size() - vigil::wire::kHeaderSize);
    vigil::wire::Tag tag{};
    std::string_view v;
    while (r.next(tag, v)) {
        if (tag == vigil::wire::Tag::Outcome) return std::string(v);
    }
    return "";
}

}  // namespace

TEST_CASE("[rollout]: a default mode and per-service modes; anything else is a file:line error", "[rollout]") {
    auto c = vigil::parse_config("[rollout]\nmode = \"report\"\nservices = { sudo = \"enforce\" }\n", "v.toml");
    REQUIRE(c);
    CHECK(c->rollout.mode_for("sshd") == Mode::Report);
    CHECK(c->rollout.mode_for("sudo") == Mode::Enforce);
    CHECK(c->rollout.mode_for("") == Mode::Enforce);  // a request whose service could not be read
    CHECK(vigil::parse_config("", "v.toml")->rollout.mode_for("sshd") == Mode::Enforce);

    auto bad = vigil::parse_config("[rollout]\nmode = \"reporting\"\n", "v.toml");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message == "v.toml:2: rollout.mode must be \"enforce\" or \"report\"");
    bad = vigil::parse_config("[rollout]\nservices = { sshd = true }\n", "v.toml");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.find("rollout.services.sshd must be a string") != std::string::npos);
    bad = vigil::parse_config("[rollout]\nmodes = \"report\"\n", "v.toml");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.find("did you mean \"mode\"") != std::string::npos);
}

TEST_CASE("report mode decides as enforce mode would, records would_deny, and answers pass", "[rollout]") {
    auto enforce = engine_on("");
    auto report = engine_on("[rollout]\nmode = \"report\"\n");
    for (const char* service : {"sshd", "sudo"}) {
        auto a = enforce->decide(request(Phase::Account, service));
        auto b = report->decide(request(Phase::Account, service));
        CHECK(a.decision.outcome == b.decision.outcome);
        CHECK(a.decision.reason_admin == b.decision.reason_admin);
        CHECK_FALSE(a.report);
        CHECK(b.report);
        CHECK(answered_outcome(vigil::encode_pam_answer(vigil::wire::Kind::Account, b)) == "pass");
        CHECK(answered_outcome(vigil::encode_pam_answer(vigil::wire::Kind::Account, a)) ==
              vigil::to_string(a.decision.outcome));
    }
    auto denied = report->decide(request(Phase::Account, "sudo"));
    CHECK(vigil::recorded_outcome(denied) == "would_deny");
    CHECK(vigil::testing::trail_json(denied)["outcome"] == "would_deny");
    CHECK(vigil::testing::trail_json(denied)["mode"] == "report");
    auto allowed = report->decide(request(Phase::Account, "sshd"));
    CHECK(vigil::recorded_outcome(allowed) == "allow");
    CHECK_FALSE(vigil::testing::trail_json(enforce->decide(request(Phase::Account, "sudo"))).contains("mode"));
}

TEST_CASE("report mode never covers what no PAM stack takes over: sessions re-decided, grants", "[rollout]") {
    auto report = engine_on("[rollout]\nmode = \"report\"\n");
    CHECK_FALSE(report->decide(request(Phase::Reevaluate, "sshd")).report);
    CHECK_FALSE(report->decide(request(Phase::CloseSession, "sshd")).report);
    CHECK(report->decide(request(Phase::OpenSession, "sshd")).report);
    CHECK(report->decide(request(Phase::DryRun, "sudo")).report);
}

TEST_CASE("a spooled break-glass frame reads back; anything else is refused", "[rollout]") {
    uint8_t buf[512];
    vigil::wire::Writer w(buf, sizeof buf);
    w.put(vigil::wire::Tag::At, "1800000000");
    w.put(vigil::wire::Tag::Phase, "account");
    w.put(vigil::wire::Tag::User, "bob");
    w.put(vigil::wire::Tag::Service, "sshd");
    w.put(vigil::wire::Tag::Rhost, "10.0.0.1\n");
    w.put(vigil::wire::Tag::Group, "breakglass");
    w.put(vigil::wire::Tag::Error, "agent unreachable");
    size_t n = w.finish(vigil::wire::Kind::BreakGlass);
    REQUIRE(n > 0);
    std::vector<uint8_t> bytes(buf, buf + n);
    auto u = vigil::parse_break_glass(bytes);
    REQUIRE(u);
    CHECK(u->user == "bob");
    CHECK(u->rhost == "10.0.0.1?");  // control characters never reach the trail
    CHECK(vigil::to_json(*u)["event"] == "break_glass");
    CHECK(vigil::to_json(*u)["time"] == "2027-01-15T08:00:00.000Z");

    auto cut = bytes;
    cut.pop_back();
    CHECK_FALSE(vigil::parse_break_glass(cut));
    auto other = bytes;
    other[7] = static_cast<uint8_t>(vigil::wire::Kind::Account);
    CHECK_FALSE(vigil::parse_break_glass(other));
    CHECK_FALSE(vigil::parse_break_glass({}));
}

TEST_CASE("vigilctl report counts report-mode records since the cutoff and names who would be locked out",
          "[rollout]") {
    std::istringstream trail(
        R"({"time":"2026-01-01T00:00:00.000Z","phase":"account","user":"old","service":"sshd","mode":"report","outcome":"would_deny","rule":"r"}
{"time":"2026-06-01T00:00:00.000Z","phase":"account","user":"ann","service":"sshd","mode":"report","outcome":"would_deny","rule":"r","reason_admin":"why"}
{"time":"2026-06-01T00:00:01.000Z","phase":"open_session","user":"ann","service":"sshd","mode":"report","outcome":"allow"}
{"time":"2026-06-01T00:00:02.000Z","phase":"account","user":"ben","service":"sudo","mode":"report","outcome":"would_deny","rule":""}
{"time":"2026-06-01T00:00:03.000Z","phase":"account","user":"ben","service":"sshd","mode":"report","outcome":"allow"}
{"time":"2026-06-01T00:00:04.000Z","phase":"auth","user":"cy","service":"sudo","mode":"report","outcome":"would_step_up"}
{"time":"2026-06-01T00:00:05.000Z","phase":"account","user":"dee","service":"sshd","outcome":"deny","pdp":{"error":"x","error_kind":"timeout"}}
{"time":"2026-06-01T00:00:06.000Z","event":"break_glass","user":"eve","service":"sshd","outcome":"break_glass"}
not json
)");
    auto r = vigil::summarize_rollout(trail, "2026-05-01T00:00:00.000Z");
    CHECK(r["report_mode_decisions"] == 5);
    CHECK(r["outcomes"]["would_deny"] == 2);
    CHECK(r["outcomes"]["allow"] == 2);
    CHECK(r["outcomes"]["would_step_up"] == 1);
    CHECK(r["would_be_refused"]["by_rule"]["r"] == 1);
    CHECK(r["would_be_refused"]["by_rule"]["(none)"] == 2);
    CHECK(r["would_be_refused"]["by_user"]["ben"] == 1);
    CHECK(r["locked_out"] == nlohmann::json::array({"ann"}));  // ben got in once; cy was only asked to step up
    CHECK(r["pdp_errors"]["total"] == 1);
    CHECK(r["break_glass"] == 1);
    CHECK(r["unreadable_lines"] == 1);
    CHECK(vigil::render_rollout(r).find("locked out (every request would have been denied): ann") != std::string::npos);
}

TEST_CASE("would-be denies are counted for the last hour only", "[rollout]") {
    using namespace std::chrono_literals;
    vigil::Health h;
    auto t0 = std::chrono::system_clock::time_point(std::chrono::hours(500000));
    h.would_deny(t0);
    h.would_deny(t0 + 30min);
    h.would_deny(t0 + 59min);
    CHECK(h.snapshot_at(t0 + 59min).would_deny_last_hour == 3);
    CHECK(h.snapshot_at(t0 + 60min).would_deny_last_hour == 2);  // the first is an hour old
    CHECK(h.snapshot_at(t0 + 120min).would_deny_last_hour == 0);
    h.would_deny(t0 + 120min);  // the first one's slot, reused
    CHECK(h.snapshot_at(t0 + 120min).would_deny_last_hour == 1);
}

TEST_CASE("a spooled time past 2100 is refused, not converted", "[rollout]") {
    uint8_t buf[256];
    vigil::wire::Writer w(buf, sizeof buf);
    w.put(vigil::wire::Tag::At, "9800000000");  // past what the clock's nanoseconds hold
    w.put(vigil::wire::Tag::User, "bob");
    size_t n = w.finish(vigil::wire::Kind::BreakGlass);
    REQUIRE(n > 0);
    auto u = vigil::parse_break_glass(std::vector<uint8_t>(buf, buf + n));
    REQUIRE_FALSE(u);
    CHECK(u.error().message == "bad time");
}

TEST_CASE("the break-glass spool is made root's and 0700, a loose one tightened, a symlink refused", "[rollout]") {
    char tmpl[] = "/tmp/vigil-spool-XXXXXX";
    std::string state = ::mkdtemp(tmpl);
    std::string dir = state + "/breakglass";
    struct stat st {};
    REQUIRE(vigil::make_break_glass_dir(state));
    REQUIRE(::stat(dir.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0700);
    REQUIRE(vigil::make_break_glass_dir(state));  // already right: nothing to change, still fine
    REQUIRE(::chmod(dir.c_str(), 0755) == 0);
    REQUIRE(vigil::make_break_glass_dir(state));
    REQUIRE(::stat(dir.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0700);
    REQUIRE(::rmdir(dir.c_str()) == 0);
    REQUIRE(::symlink("/tmp", dir.c_str()) == 0);
    CHECK_FALSE(vigil::make_break_glass_dir(state));
    ::unlink(dir.c_str());
    ::rmdir(state.c_str());
}
