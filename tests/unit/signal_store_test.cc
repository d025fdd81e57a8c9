#include "signal_store.h"

#include <catch2/catch.hpp>

using vigil::posture::Signal;
using vigil::posture::SignalStore;

TEST_CASE("signal store tells listeners about changes, not repeats") {
    SignalStore store;
    std::vector<std::string> heard;
    store.on_change([&](const Signal& s, const std::string& before) { heard.push_back(before + "->" + s.value); });
    auto now = std::chrono::system_clock::now();
    store.update({"u", "active", "systemd", now});
    store.update({"u", "active", "systemd", now});
    store.update({"u", "inactive", "systemd", now});
    store.forget("u");
    CHECK(heard == std::vector<std::string>{"->active", "active->inactive", "inactive->"});
    CHECK(store.snapshot().empty());
}

TEST_CASE("signal store keeps the newest observation time") {
    SignalStore store;
    auto t0 = std::chrono::system_clock::now();
    store.update({"u", "active", "systemd", t0});
    store.update({"u", "active", "systemd", t0 + std::chrono::seconds(5)});
    auto snap = store.snapshot();
    REQUIRE(snap.size() == 1);
    CHECK(snap[0].observed_at == t0 + std::chrono::seconds(5));
}
