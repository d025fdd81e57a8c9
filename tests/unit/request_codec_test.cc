#include "request_codec.h"

#include <catch2/catch.hpp>

namespace wire = vigil::wire;

namespace {

std::vector<uint8_t> payload(std::initializer_list<std::pair<wire::Tag, std::string>> fields) {
    std::vector<uint8_t> buf(wire::kMaxFrame);
    wire::Writer w(buf.data(), buf.size());
    for (auto& [t, v] : fields) w.put(t, v);
    size_t n = w.finish(wire::Kind::Account);
    REQUIRE(n > 0);
    return {buf.begin() + wire::kHeaderSize, buf.begin() + n};
}

}  // namespace

TEST_CASE("request codec decodes every fact the module sends") {
    auto p = payload({{wire::Tag::Phase, "account"},
                      {wire::Tag::User, "alice"},
                      {wire::Tag::Service, "sudo"},
                      {wire::Tag::Tty, "/dev/pts/3"},
                      {wire::Tag::Ruser, "alice"},
                      {wire::Tag::Pid, "4242"},
                      {wire::Tag::Command, std::string("sudo\0-u\0postgres\0psql", 21)},
                      {static_cast<wire::Tag>(999), "from a newer module"}});
    auto q = vigil::decode_pam_request(wire::Kind::Account, p);
    REQUIRE(q);
    CHECK(q->phase == vigil::Phase::Account);
    CHECK(q->user == "alice");
    CHECK(q->tty == "/dev/pts/3");
    CHECK(q->pid == 4242);
    CHECK(q->command == std::vector<std::string>{"sudo", "-u", "postgres", "psql"});
}

TEST_CASE("request codec carries the module's word that argv was cut short") {
    auto whole = payload({{wire::Tag::User, "a"}, {wire::Tag::Service, "sudo"}, {wire::Tag::Command, "sudo"}});
    CHECK_FALSE(vigil::decode_pam_request(wire::Kind::Account, whole)->argv_truncated);
    auto cut = payload({{wire::Tag::User, "a"},
                        {wire::Tag::Service, "sudo"},
                        {wire::Tag::Command, "sudo"},
                        {wire::Tag::ArgvTruncated, "1"}});
    CHECK(vigil::decode_pam_request(wire::Kind::Account, cut)->argv_truncated);
    auto odd = payload({{wire::Tag::User, "a"}, {wire::Tag::Service, "sudo"}, {wire::Tag::ArgvTruncated, "yes"}});
    CHECK_FALSE(vigil::decode_pam_request(wire::Kind::Account, odd));
}

TEST_CASE("request codec takes the phase from the frame kind, not a field") {
    auto p = payload({{wire::Tag::Phase, "account"}, {wire::Tag::User, "a"}, {wire::Tag::Service, "s"}});
    CHECK(vigil::decode_pam_request(wire::Kind::CloseSession, p)->phase == vigil::Phase::CloseSession);
}

TEST_CASE("request codec refuses missing, duplicate and malformed fields") {
    CHECK_FALSE(vigil::decode_pam_request(wire::Kind::Account, payload({{wire::Tag::Service, "sshd"}})));
    CHECK_FALSE(vigil::decode_pam_request(wire::Kind::Account, payload({{wire::Tag::User, "a"}})));
    auto dup = payload({{wire::Tag::User, "a"}, {wire::Tag::User, "root"}, {wire::Tag::Service, "s"}});
    CHECK_THAT(vigil::decode_pam_request(wire::Kind::Account, dup).error().message, Catch::Contains("twice"));
    auto ctl = payload({{wire::Tag::User, "a\nb"}, {wire::Tag::Service, "s"}});
    CHECK_THAT(vigil::decode_pam_request(wire::Kind::Account, ctl).error().message, Catch::Contains("control"));
    auto pid = payload({{wire::Tag::User, "a"}, {wire::Tag::Service, "s"}, {wire::Tag::Pid, "12x"}});
    CHECK_FALSE(vigil::decode_pam_request(wire::Kind::Account, pid));
    auto ok = payload({{wire::Tag::User, "a"}, {wire::Tag::Service, "s"}});
    ok.pop_back();
    CHECK_THAT(vigil::decode_pam_request(wire::Kind::Account, ok).error().message, Catch::Contains("truncated"));
}

TEST_CASE("request codec: the budget runs from the module's stamp when it is this clock's, else from the accept") {
    using std::chrono::milliseconds;
    auto accepted = std::chrono::steady_clock::now();
    auto ms_at = [](std::chrono::steady_clock::time_point t) {
        return std::to_string(std::chrono::duration_cast<milliseconds>(t.time_since_epoch()).count());
    };
    auto frame = [](std::initializer_list<std::pair<wire::Tag, std::string>> fields) {
        return vigil::Frame{static_cast<uint16_t>(wire::Kind::Account), payload(fields)};
    };
    auto near = [](std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
        return a - b < milliseconds(2) && b - a < milliseconds(2);
    };
    SECTION("a stamp 500 ms before the accept, within a 600 ms budget: the budget started then") {
        auto t = vigil::timing_of(
            frame({{wire::Tag::BudgetMs, "600"}, {wire::Tag::AskedAtMs, ms_at(accepted - milliseconds(500))}}),
            accepted);
        CHECK(t.budget == milliseconds(600));
        CHECK(near(t.asked, accepted - milliseconds(500)));
    }
    SECTION("no stamp (an older module): the accept, and the default budget without BudgetMs") {
        auto t = vigil::timing_of(frame({}), accepted);
        CHECK(t.asked == accepted);
        CHECK(t.budget == milliseconds(wire::kDefaultClientTimeoutMs));
    }
    SECTION("a stamp from another clock: after the accept, or before the whole budget, is not used") {
        CHECK(vigil::timing_of(frame({{wire::Tag::AskedAtMs, ms_at(accepted + milliseconds(50))}}), accepted).asked ==
              accepted);
        CHECK(vigil::timing_of(
                  frame({{wire::Tag::BudgetMs, "600"}, {wire::Tag::AskedAtMs, ms_at(accepted - milliseconds(700))}}),
                  accepted)
                  .asked == accepted);
        CHECK(vigil::timing_of(frame({{wire::Tag::AskedAtMs, "99999999999999999999"}}), accepted).asked == accepted);
    }
    SECTION("the decoder refuses a stamp that is not a number") {
        auto bad = payload({{wire::Tag::User, "a"}, {wire::Tag::Service, "s"}, {wire::Tag::AskedAtMs, "soon"}});
        CHECK_FALSE(vigil::decode_pam_request(wire::Kind::Account, bad));
    }
}

TEST_CASE("request codec survives every truncation and byte flip of a valid frame") {
    auto p = payload({{wire::Tag::User, "alice"}, {wire::Tag::Service, "sshd"}, {wire::Tag::Rhost, "10.0.0.1"}});
    for (size_t cut = 0; cut < p.size(); ++cut) {
        std::vector<uint8_t> t(p.begin(), p.begin() + cut);
        (void)vigil::decode_pam_request(wire::Kind::Account, t);
    }
    for (size_t i = 0; i < p.size(); ++i) {
        for (uint8_t x : {0x01, 0x80, 0xff}) {
            auto f = p;
            f[i] ^= x;
            (void)vigil::decode_pam_request(wire::Kind::Account, f);
        }
    }
    SUCCEED("no crash, no exception");
}

TEST_CASE("request codec answers carry outcome, id, reason and session limit") {
    vigil::DecisionRecord r;
    r.request_id = "abc";
    r.decision.outcome = vigil::Outcome::Allow;
    r.decision.session_max = std::chrono::seconds(28800);
    auto f = vigil::encode_pam_answer(wire::Kind::Account, r);
    wire::Header h;
    REQUIRE(wire::parse_header(f.data(), h) == wire::HeaderStatus::Ok);
    CHECK(h.kind == (static_cast<uint16_t>(wire::Kind::Account) | wire::kAnswerBit));
    wire::Reader rd(f.data() + wire::kHeaderSize, h.length);
    wire::Tag t{};
    std::string_view v;
    std::map<wire::Tag, std::string> got;
    while (rd.next(t, v)) got[t] = v;
    CHECK(got[wire::Tag::Outcome] == "allow");
    CHECK(got[wire::Tag::RequestId] == "abc");
    CHECK(got[wire::Tag::SessionMaxSeconds] == "28800");
}
