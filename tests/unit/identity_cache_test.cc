#include "identity_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

using vigil::CachedIdentity;
using vigil::Identity;
using vigil::IdentityCache;
using vigil::IdentityCacheSettings;
using namespace std::chrono_literals;

namespace {

// A directory with a group file as NSS would read it, written an hour ago
// unless said otherwise; a lookup that counts its calls; a clock the test
// moves.
struct Fixture {
    std::filesystem::path dir;
    std::string group;
    int calls = 0;
    bool known = true;
    std::chrono::steady_clock::time_point now{std::chrono::hours(1000)};

    Fixture() {
        char tmpl[] = "/tmp/vigil-identity-cache.XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        dir = tmpl;
        group = (dir / "group").string();
        write("ops:x:100:alice\n", std::chrono::hours(1));
    }
    ~Fixture() { std::filesystem::remove_all(dir); }

    // Rewrites the file in place (as an editor that keeps the inode does),
    // dated ago in the past.
    void write(const std::string& text, std::chrono::seconds ago) {
        { std::ofstream(group, std::ios::trunc) << text; }
        auto t = std::chrono::system_clock::now() - ago;
        timespec ts{std::chrono::system_clock::to_time_t(t), 0};
        timespec times[2] = {ts, ts};
        REQUIRE(::utimensat(AT_FDCWD, group.c_str(), times, 0) == 0);
    }

    IdentityCache cache(std::chrono::milliseconds max_age = 5000ms, vigil::NextChange next = {}, size_t max = 4096) {
        IdentityCacheSettings s;
        s.watched = {group, (dir / "absent").string()};
        s.max_age = max_age;
        s.next_change = std::move(next);
        s.max_entries = max;
        return IdentityCache(
            s,
            [this](const std::string& user) -> std::optional<Identity> {
                ++calls;
                if (!known) return std::nullopt;
                return Identity{1000, 1000, {user, "ops"}, user};
            },
            [this] { return now; });
    }
};

}  // namespace

TEST_CASE("identity cache: a user is looked up once while the files and the clock allow", "[identity]") {
    Fixture f;
    auto ids = f.cache();
    CachedIdentity first = ids.lookup("alice");
    REQUIRE(first.identity);
    CHECK(first.age == 0ms);
    f.now += 1500ms;
    CachedIdentity again = ids.lookup("alice");
    REQUIRE(again.identity);
    CHECK(again.identity->groups == first.identity->groups);
    CHECK(again.age == 1500ms);
    CHECK(f.calls == 1);
    ids.lookup("bob");
    CHECK(f.calls == 2);
}

TEST_CASE("identity cache: a change to a watched file is seen on the next request", "[identity]") {
    Fixture f;
    auto ids = f.cache();
    ids.lookup("alice");
    f.write("ops:x:100:\n", std::chrono::minutes(30));  // alice removed from ops
    CachedIdentity after = ids.lookup("alice");
    CHECK(after.age == 0ms);
    CHECK(f.calls == 2);
    // A file renamed over it (a new inode), as usermod and vipw do.
    std::string next = (f.dir / "group.new").string();
    std::filesystem::copy_file(f.group, next);
    std::filesystem::rename(next, f.group);
    ids.lookup("alice");
    CHECK(f.calls == 3);
}

TEST_CASE("identity cache: an answer is served for at most max_age", "[identity]") {
    Fixture f;
    auto ids = f.cache(5000ms);
    ids.lookup("alice");
    f.now += 4999ms;
    ids.lookup("alice");
    CHECK(f.calls == 1);
    f.now += 1ms;
    CHECK(ids.lookup("alice").age == 0ms);
    CHECK(f.calls == 2);
}

TEST_CASE("identity cache: max_age 0 asks NSS on every request", "[identity]") {
    Fixture f;
    auto ids = f.cache(0ms);
    ids.lookup("alice");
    ids.lookup("alice");
    CHECK(f.calls == 2);
}

TEST_CASE("identity cache: a file written in the last second is not trusted to show the next write", "[identity]") {
    Fixture f;
    f.write("ops:x:100:alice\n", 0s);
    auto ids = f.cache();
    ids.lookup("alice");
    ids.lookup("alice");
    CHECK(f.calls == 2);
}

TEST_CASE("identity cache: no answer is served past the next change the files do not show", "[identity]") {
    Fixture f;
    int asked = 0;
    auto past = [&]() -> std::optional<std::chrono::system_clock::time_point> {
        ++asked;
        return std::chrono::system_clock::now() - 1s;
    };
    auto ids = f.cache(5000ms, past);
    ids.lookup("alice");
    ids.lookup("alice");
    CHECK(f.calls == 2);

    Fixture g;
    int asked_later = 0;
    auto later = [&]() -> std::optional<std::chrono::system_clock::time_point> {
        ++asked_later;
        return std::chrono::system_clock::now() + 1h;
    };
    auto ids_later = g.cache(5000ms, later);
    ids_later.lookup("alice");
    ids_later.lookup("alice");
    ids_later.lookup("alice");
    CHECK(g.calls == 1);
    CHECK(asked_later == 1);  // asked again only when a file changes
    g.write("ops:x:100:\n", std::chrono::minutes(30));
    ids_later.lookup("alice");
    ids_later.lookup("alice");
    CHECK(asked_later == 2);
}

TEST_CASE("identity cache: an unknown user is remembered under the same rules", "[identity]") {
    Fixture f;
    f.known = false;
    auto ids = f.cache();
    CHECK_FALSE(ids.lookup("nobody-here").identity);
    CHECK_FALSE(ids.lookup("nobody-here").identity);
    CHECK(f.calls == 1);
}

TEST_CASE("identity cache: a full cache starts again empty", "[identity]") {
    Fixture f;
    auto ids = f.cache(5000ms, {}, 2);
    ids.lookup("a");
    ids.lookup("b");
    ids.lookup("c");  // full: a and b are dropped
    CHECK(f.calls == 3);
    ids.lookup("c");
    CHECK(f.calls == 3);
    ids.lookup("a");
    CHECK(f.calls == 4);
}
