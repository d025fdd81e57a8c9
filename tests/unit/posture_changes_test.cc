// Which posture changes re-decide sessions (posture_view.h,
// posture_changes.h): a requirement flipping, a value a PDP is sent; never
// an age or a timestamp ticking on; and only once the settle time is up.
#include "posture_changes.h"

#include <catch2/catch.hpp>

#include "config.h"
#include "posture_view.h"

using namespace std::chrono_literals;
using vigil::posture::Signal;

namespace {

const auto kNow = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));

vigil::Config config(const std::string& toml) {
    auto c = vigil::parse_config(toml, "test.toml");
    REQUIRE(c);
    return *c;
}

const char* kLocal = R"(
[[rule]]
name = "ops with a live sensor"
services = ["sshd"]
decision = "allow"
require = ["edr.score >= 70", "wazuh.keepalive_age < 600"]
)";

const char* kRemote = R"(
[pdp]
urls = ["http://127.0.0.1:3592"]

[posture]
ticking = ["edr.last_seen"]
)";

Signal signal(const std::string& name, const std::string& value, bool ticking = false) {
    Signal s{name, value, "test", kNow};
    s.ticking = ticking;
    return s;
}

vigil::posture::Snapshot wazuh(const std::string& score, int age) {
    return {signal("edr.score", score), signal("wazuh.keepalive_age", std::to_string(age), true),
            signal("wazuh.last_keepalive", "2027-01-15 08:00:00", true)};
}

}  // namespace

TEST_CASE("posture view: ages ticking on and values on the same side of a bar change nothing", "[posture]") {
    auto c = config(kLocal);
    auto before = vigil::posture_view(c, wazuh("80", 30), kNow);
    CHECK(vigil::posture_view(c, wazuh("81", 60), kNow) == before);
    CHECK(vigil::posture_view(c, wazuh("95", 590), kNow) == before);
}

TEST_CASE("posture view: a requirement that flips is a change, named", "[posture]") {
    auto c = config(kLocal);
    auto before = vigil::posture_view(c, wazuh("80", 30), kNow);
    auto low = vigil::posture_view(c, wazuh("60", 30), kNow);
    REQUIRE_FALSE(low == before);
    CHECK(vigil::view_changes(before, low) == std::vector<std::string>{"requirement \"edr.score >= 70\" now fails"});
    // An age crossing its bar counts: the requirement is what matters.
    auto late = vigil::posture_view(c, wazuh("80", 700), kNow);
    CHECK(vigil::view_changes(before, late) ==
          std::vector<std::string>{"requirement \"wazuh.keepalive_age < 600\" now fails"});
    // So does a signal going missing or stale.
    auto stale = wazuh("80", 30);
    stale[0].observed_at = kNow - 10min;
    CHECK(vigil::view_changes(before, vigil::posture_view(c, stale, kNow)) ==
          std::vector<std::string>{"requirement \"edr.score >= 70\" now fails"});
}

TEST_CASE("posture view: with a PDP, every value it is sent counts, but no ticking one", "[posture]") {
    auto c = config(kRemote);
    auto snap = wazuh("80", 30);
    snap.push_back(signal("edr.last_seen", "1800000000"));  // ticking by [posture] ticking
    auto before = vigil::posture_view(c, snap, kNow);
    CHECK(before.pdp_signals.size() == 1);
    auto later = wazuh("80", 90);
    later.push_back(signal("edr.last_seen", "1800000060"));
    CHECK(vigil::posture_view(c, later, kNow) == before);
    auto moved = wazuh("81", 90);
    CHECK(vigil::view_changes(before, vigil::posture_view(c, moved, kNow)) ==
          std::vector<std::string>{"signal edr.score: \"80\" -> \"81\""});
    // Without a PDP the same move is no change (no requirement names it).
    auto local = config("");
    CHECK(vigil::posture_view(local, snap, kNow) == vigil::posture_view(local, moved, kNow));
}

TEST_CASE("posture changes: acted on once, at once without a settle time", "[posture]") {
    auto c = config(kLocal);
    vigil::PostureChanges changes(0s);
    changes.rebase(vigil::posture_view(c, wazuh("80", 30), kNow), 0s);
    auto t = std::chrono::steady_clock::now();
    CHECK_FALSE(changes.observe(vigil::posture_view(c, wazuh("85", 40), kNow), t));
    auto what = changes.observe(vigil::posture_view(c, wazuh("60", 50), kNow), t);
    REQUIRE(what);
    CHECK(what->size() == 1);
    // The new view is the baseline: the same again is nothing.
    CHECK_FALSE(changes.observe(vigil::posture_view(c, wazuh("65", 60), kNow), t));
    CHECK_FALSE(changes.due_at());
}

TEST_CASE("posture changes: a change is acted on once it held for the settle time; a flap is not", "[posture]") {
    auto c = config(kLocal);
    vigil::PostureChanges changes(10s);
    changes.rebase(vigil::posture_view(c, wazuh("80", 30), kNow), 10s);
    auto t0 = std::chrono::steady_clock::now();
    auto low = vigil::posture_view(c, wazuh("60", 30), kNow);
    CHECK_FALSE(changes.observe(low, t0));
    REQUIRE(changes.due_at());
    CHECK(*changes.due_at() == t0 + 10s);
    CHECK_FALSE(changes.observe(low, t0 + 9s));
    // Back before the settle time: nothing happened.
    CHECK_FALSE(changes.observe(vigil::posture_view(c, wazuh("80", 40), kNow), t0 + 9s));
    CHECK_FALSE(changes.due_at());
    CHECK_FALSE(changes.observe(low, t0 + 12s));
    CHECK(changes.observe(low, t0 + 22s));
    CHECK_FALSE(changes.due_at());
}
