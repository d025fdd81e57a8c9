#include "grant_request.h"

#include <pwd.h>
#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>

#include "audit_log.h"

using namespace std::chrono_literals;

namespace {

std::string me() {
    struct passwd* pw = getpwuid(getuid());
    REQUIRE(pw != nullptr);
    return pw->pw_name;
}

// A grant desk over a real trail and grant table in a temporary directory;
// the requester is this process, and the rules let it elevate.
struct Desk {
    std::filesystem::path dir;
    std::unique_ptr<vigil::AuditLog> audit;
    std::shared_ptr<vigil::Engine> engine;
    std::unique_ptr<vigil::Grants> grants;
    std::unique_ptr<vigil::GrantRequests> desk;
    vigil::PeerCredentials peer{getpid(), getuid(), getgid()};

    explicit Desk(const std::string& grants_extra = "") {
        char tmpl[] = "/tmp/vigil-grant-request-unit-XXXXXX";
        dir = mkdtemp(tmpl);
        std::string text = "[grants]\ntable = \"" + (dir / "grants").string() + "\"\nmax = \"1h\"\n" + grants_extra +
                           "\n[[grants.group]]\nname = \"vigil-sudo\"\ngid = 64201\n"
                           "\n[step_up.purpose]\npattern = \"^[A-Z]+-[0-9]+ .+$\"\nhint = \"a ticket, then words\"\n"
                           "\n[[rule]]\nname = \"may elevate\"\nservices = [\"elevate\"]\nusers = [\"" +
                           me() + "\"]\ndecision = \"allow\"\nsession_max = \"30m\"\n";
        auto c = vigil::parse_config(text, "test.toml");
        REQUIRE(c);
        auto a = vigil::AuditLog::open((dir / "audit.jsonl").string());
        REQUIRE(a);
        audit = std::move(*a);
        grants = std::make_unique<vigil::Grants>(c->grants);
        auto e =
            vigil::Engine::create(std::make_shared<const vigil::Config>(std::move(*c)), audit.get(), nullptr, nullptr);
        REQUIRE(e);
        engine = *e;
        desk = std::make_unique<vigil::GrantRequests>(grants.get(), nullptr, [this] { return engine; });
    }
    ~Desk() {
        desk.reset();
        std::filesystem::remove_all(dir);
    }

    nlohmann::ordered_json ask(const nlohmann::json& q) { return desk->answer(q, peer); }

    std::vector<nlohmann::json> trail() const {
        std::vector<nlohmann::json> out;
        std::ifstream in(dir / "audit.jsonl");
        for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
        return out;
    }
    size_t count(const std::string& event) const {
        size_t n = 0;
        for (const auto& r : trail()) n += r.value("event", "") == event;
        return n;
    }
};

nlohmann::json good() { return {{"group", "vigil-sudo"}, {"seconds", 7200}, {"reason", "INC-1 fix the disk"}}; }

}  // namespace

TEST_CASE("a grant request the rules allow is granted, and its one record says what was asked and given", "[grants]") {
    Desk d;
    auto a = d.ask(good());
    REQUIRE(a["granted"] == true);
    auto trail = d.trail();
    REQUIRE(trail.size() == 1);
    const auto& r = trail[0];
    CHECK(r["event"] == "grant_request");
    CHECK(r["outcome"] == "allow");
    CHECK(r["grant"]["group"] == "vigil-sudo");
    CHECK(r["grant"]["asked_seconds"] == 7200);
    CHECK(r["grant"]["granted_seconds"] == 1800);  // the rule's session_max
    CHECK(r["purpose"] == "INC-1 fix the disk");
}

TEST_CASE("a grant request for a group [grants] does not offer is refused without a decision", "[grants]") {
    Desk d;
    auto q = good();
    q["group"] = "root";
    auto a = d.ask(q);
    CHECK(a["granted"] == false);
    CHECK_THAT(a["reason"].get<std::string>(), Catch::Contains("not one this host grants"));
    auto q2 = good();
    q2.erase("group");
    q2["account"] = "breakglass";
    CHECK_THAT(d.ask(q2)["reason"].get<std::string>(), Catch::Contains("[[grants.account]]"));
    CHECK(d.count("grant_request") == 0);
    CHECK(d.count("grant_requests_refused") == 1);  // the first refusal, counted at once
}

TEST_CASE("a grant request whose reason [step_up.purpose] refuses is refused without a decision", "[grants]") {
    Desk d("requests_burst = 10");
    for (std::string bad : {std::string("INC-1 \x1b[2J\x1b[Hfake"), std::string("INC-1 ok\nforged line"),
                            std::string("INC-1 ") + std::string(300, 'x'), std::string("no ticket"), std::string()}) {
        auto q = good();
        q["reason"] = bad;
        auto a = d.ask(q);
        INFO(a.dump());
        CHECK(a["granted"] == false);
    }
    auto q = good();
    q["reason"] = "no ticket";
    CHECK_THAT(d.ask(q)["reason"].get<std::string>(), Catch::Contains("a ticket, then words"));
    CHECK(d.count("grant_request") == 0);
}

TEST_CASE("a malformed grant request is refused without a decision", "[grants]") {
    Desk d("requests_burst = 20");
    std::vector<nlohmann::json> bad = {
        nlohmann::json(nlohmann::json::value_t::discarded),
        nlohmann::json::array(),
        {{"group", "vigil-sudo"}, {"account", "breakglass"}, {"seconds", 60}, {"reason", "INC-1 x"}},
        {{"seconds", 60}, {"reason", "INC-1 x"}},
        {{"group", "vigil-sudo"}, {"seconds", 0}, {"reason", "INC-1 x"}},
        {{"group", "vigil-sudo"}, {"seconds", "60"}, {"reason", "INC-1 x"}},
        {{"group", 5}, {"seconds", 60}, {"reason", "INC-1 x"}},
        {{"group", "vigil-sudo"}, {"seconds", 60}, {"reason", 7}},
        {{"group", "vigil-sudo"}, {"seconds", 60}, {"reason", "INC-1 x"}, {"bind", "yes"}},
        {{"group", "vigil-sudo"}, {"seconds", 60}, {"reason", "INC-1 x"}, {"user", "root"}},
        {{"group", std::string(100000, 'g')}, {"seconds", 60}, {"reason", "INC-1 x"}},
    };
    for (const auto& q : bad) {
        auto a = d.ask(q);
        INFO(q.dump().substr(0, 200));
        CHECK(a["granted"] == false);
    }
    CHECK(d.count("grant_request") == 0);
}

TEST_CASE("past the burst a user's grant requests are refused undecided, and counted in one summary", "[grants]") {
    Desk d("requests_burst = 3\nrequests_every = \"1h\"");
    int granted = 0, refused = 0;
    for (int i = 0; i < 1000; ++i) (d.ask(good())["granted"] == true ? granted : refused)++;
    CHECK(granted == 3);
    CHECK(refused == 997);
    auto a = d.ask(good());
    CHECK_THAT(a["reason"].get<std::string>(), Catch::Contains("too many grant requests; try again in"));
    d.desk.reset();  // vigild stops: what is pending is written
    CHECK(d.count("grant_request") == 3);
    uint64_t counted = 0;
    for (const auto& r : d.trail()) {
        if (r.value("event", "") != "grant_requests_refused") continue;
        counted += r["count"].get<uint64_t>();
        CHECK(r["uids"][0]["uid"] == getuid());
        CHECK(r["reasons"].contains("rate_limited"));
    }
    CHECK(counted == 998);
    CHECK(d.count("grant_requests_refused") == 2);  // the first refusal, then the rest at the end
    CHECK(vigil::verify_audit_file((d.dir / "audit.jsonl").string()).ok);
}
