#include "grants.h"

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>

using namespace std::chrono_literals;

namespace {

struct TempGrants {
    std::filesystem::path dir;
    vigil::GrantSettings settings;
    TempGrants() {
        char tmpl[] = "/tmp/vigil-grants-unit-XXXXXX";
        dir = mkdtemp(tmpl);
        settings.table = (dir / "grants").string();
        settings.groups.push_back({"vigil-sudo", 64201});
        settings.accounts.push_back({"breakglass", 64301, 64201, "", "/var/lib/breakglass", "/bin/sh"});
    }
    ~TempGrants() { std::filesystem::remove_all(dir); }
};

}  // namespace

TEST_CASE("an ephemeral account is granted to one requester at a time, and ends", "[grants]") {
    TempGrants t;
    vigil::Grants grants(t.settings);
    auto g = grants.grant_account("alice", "breakglass", 30s, "INC-2 db down");
    REQUIRE(g);
    CHECK(g->account == "breakglass");
    CHECK(g->user == "alice");
    // The account's own sessions depend on the grant.
    auto held = grants.list("breakglass");
    REQUIRE(held.size() == 1);
    CHECK(held[0].id == g->id);
    CHECK(held[0].reason == "INC-2 db down");
    // Someone else cannot take it over; alice can extend it.
    CHECK_FALSE(grants.grant_account("bob", "breakglass", 30s, "mine now"));
    CHECK(grants.grant_account("alice", "breakglass", 60s, "longer"));
    CHECK_FALSE(grants.grant_account("alice", "root", 30s, "x"));
    // Expiry ends it and says what ended.
    auto ended = grants.sweep(std::chrono::system_clock::now() + 2min);
    REQUIRE(ended.size() == 1);
    CHECK(ended[0].what == "account breakglass");
    CHECK(grants.list().empty());
    CHECK(grants.grant_account("bob", "breakglass", 30s, "my turn"));
}

TEST_CASE("revoke ends a membership or an account at once, once", "[grants]") {
    TempGrants t;
    vigil::Grants grants(t.settings);
    auto m = grants.grant("alice", "vigil-sudo", 30s, "r");
    auto a = grants.grant_account("alice", "breakglass", 30s, "r");
    REQUIRE(m);
    REQUIRE(a);
    auto gone = grants.revoke(a->id);
    REQUIRE(gone);
    CHECK(gone->what == "account breakglass");
    CHECK_FALSE(grants.revoke(a->id));
    gone = grants.revoke(m->id);
    REQUIRE(gone);
    CHECK(gone->what == "vigil-sudo of alice");
    CHECK(grants.list().empty());
}
