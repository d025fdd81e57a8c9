#include "grants.h"

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <cstdio>
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

namespace {

void write_text(const std::string& path, const std::string& text) {
    FILE* f = std::fopen(path.c_str(), "w");
    REQUIRE(f != nullptr);
    std::fputs(text.c_str(), f);
    std::fclose(f);
}

}  // namespace

TEST_CASE("a grant table cut short on disk: the last good table stands in and is written back", "[grants]") {
    TempGrants t;
    vigil::Grants grants(t.settings);
    auto g = grants.grant("alice", "vigil-sudo", 60s, "INC-7");
    REQUIRE(g);
    // A full disk (or a crash of something else) leaves half a table.
    std::string half = "vigil-grants v1\ngroup\tvigil-sudo\t64201\t0\nmember\tvigil-sudo\tal";
    write_text(t.settings.table, half);
    // vigild still knows alice's grant (its sessions still depend on it) ...
    auto live = grants.list("alice");
    REQUIRE(live.size() == 1);
    CHECK(live[0].id == g->id);
    // ... and the next change writes the whole table back, bob's row with it.
    REQUIRE(grants.grant("bob", "vigil-sudo", 60s, "INC-8"));
    auto back = vigil::read_grant_table(t.settings.table);
    REQUIRE(back);
    CHECK(back->members.size() == 2);
}

TEST_CASE("a grant table edited well by hand is taken as it is", "[grants]") {
    TempGrants t;
    vigil::Grants grants(t.settings);
    REQUIRE(grants.grant("alice", "vigil-sudo", 60s, "INC-7"));
    REQUIRE(grants.list().size() == 1);
    // An admin ends every grant by writing an empty (valid) table.
    write_text(t.settings.table, "vigil-grants v1\n");
    CHECK(grants.list().empty());
}

TEST_CASE("a grant table bad from the start refuses grants with the reason", "[grants]") {
    TempGrants t;
    write_text(t.settings.table, "not a grant table\n");
    vigil::Grants grants(t.settings);
    auto g = grants.grant("alice", "vigil-sudo", 60s, "INC-7");
    REQUIRE_FALSE(g);
    CHECK_THAT(g.error().message, Catch::Contains("line 1"));
    CHECK(grants.list().empty());
    CHECK(grants.sweep(std::chrono::system_clock::now()).empty());
}
