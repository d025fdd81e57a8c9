// What every collector shares: a group publishes, forgets what it no longer
// has, keeps what a failure establishes, refuses unprintable values; the
// interval thread ticks at once, then on time, and stops promptly.
#include "signal_group.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <stdexcept>
#include <thread>

#include "interval_thread.h"
#include "posture_testing.h"

using namespace std::chrono_literals;
using vigil::posture::IntervalThread;
using vigil::posture::Reading;
using vigil::posture::SignalGroup;
using vigil::posture::SignalStore;

using vigil::testing::signal_in;

TEST_CASE("signal group forgets names a later reading no longer has") {
    SignalStore store;
    SignalGroup g(store, "test", "test source", std::chrono::seconds{0});
    g.publish({{{"a", "1"}, {"b", "2"}}, {}, {}});
    CHECK(signal_in(store, "a") == "1");
    CHECK(signal_in(store, "b") == "2");
    g.publish({{{"a", "3"}}, {"b: gone"}, {}});
    CHECK(signal_in(store, "a") == "3");
    CHECK(signal_in(store, "b") == "<missing>");
}

TEST_CASE("signal group failure forgets everything but what it establishes") {
    SignalStore store;
    SignalGroup g(store, "test", "test source", std::chrono::seconds{0});
    g.publish({{{"x.state", "ok"}, {"x.reachable", "true"}}, {}, {}});
    g.fail("gone", {{"x.reachable", "false"}});
    CHECK(signal_in(store, "x.state") == "<missing>");
    CHECK(signal_in(store, "x.reachable") == "false");
    CHECK(store.snapshot().size() == 1);
    CHECK(store.snapshot()[0].source == "test");
    g.fail("still gone");
    CHECK(store.snapshot().empty());
}

TEST_CASE("signal group leaves other groups' signals alone") {
    SignalStore store;
    SignalGroup a(store, "a", "a", std::chrono::seconds{0}), b(store, "b", "b", std::chrono::seconds{0});
    a.publish({{{"a.v", "1"}}, {}, {}});
    b.publish({{{"b.v", "2"}}, {}, {}});
    a.fail("down");
    CHECK(signal_in(store, "a.v") == "<missing>");
    CHECK(signal_in(store, "b.v") == "2");
}

TEST_CASE("signal values must be short printable text") {
    CHECK(vigil::posture::check_signal_value("active").empty());
    CHECK(vigil::posture::check_signal_value("").empty());
    CHECK(vigil::posture::check_signal_value("ünïcode ok").empty());
    CHECK(!vigil::posture::check_signal_value("two\nlines").empty());
    CHECK(!vigil::posture::check_signal_value(std::string("nul\0", 4)).empty());
    CHECK(!vigil::posture::check_signal_value(std::string(vigil::posture::kMaxSignalValue + 1, 'x')).empty());
    CHECK(vigil::posture::check_signal_value(std::string(vigil::posture::kMaxSignalValue, 'x')).empty());
    SignalStore store;
    SignalGroup g(store, "test", "test source", std::chrono::seconds{0});
    g.publish({{{"ok", "fine"}, {"bad", "esc\x1b[2J"}}, {}, {}});
    CHECK(signal_in(store, "ok") == "fine");
    CHECK(signal_in(store, "bad") == "<missing>");
}

TEST_CASE("interval thread ticks at once, then every interval, and stops promptly") {
    std::atomic<int> ticks{0};
    IntervalThread t(40ms, [&] { ++ticks; });
    auto started = std::chrono::steady_clock::now();
    t.start();
    while (ticks == 0 && std::chrono::steady_clock::now() - started < 1s) std::this_thread::sleep_for(1ms);
    CHECK(std::chrono::steady_clock::now() - started < 30ms);  // at once, not after an interval
    std::this_thread::sleep_for(150ms);
    auto t0 = std::chrono::steady_clock::now();
    t.stop();
    CHECK(std::chrono::steady_clock::now() - t0 < 200ms);
    int n = ticks;
    CHECK(n >= 3);
    CHECK(n <= 8);
    std::this_thread::sleep_for(60ms);
    CHECK(ticks == n);
}

TEST_CASE("interval thread stops in the middle of a long interval") {
    std::atomic<int> ticks{0};
    IntervalThread t(10s, [&] { ++ticks; });
    t.start();
    std::this_thread::sleep_for(20ms);
    auto t0 = std::chrono::steady_clock::now();
    t.stop();
    CHECK(std::chrono::steady_clock::now() - t0 < 200ms);
    CHECK(ticks == 1);
}

TEST_CASE("interval thread tells a long tick that a stop was asked for") {
    std::atomic<bool> saw_stop{false};
    std::atomic<bool> in_tick{false};
    IntervalThread* self = nullptr;
    IntervalThread t(10s, [&] {
        in_tick = true;
        for (int i = 0; i < 200 && !self->stop_requested(); ++i) std::this_thread::sleep_for(5ms);
        saw_stop = self->stop_requested();
    });
    self = &t;
    CHECK(!t.stop_requested());
    t.start();
    while (!in_tick) std::this_thread::sleep_for(1ms);
    auto t0 = std::chrono::steady_clock::now();
    t.stop();
    CHECK(std::chrono::steady_clock::now() - t0 < 200ms);
    CHECK(saw_stop);
}

TEST_CASE("interval thread survives a tick that throws") {
    std::atomic<int> ticks{0};
    IntervalThread t(10ms, [&] {
        ++ticks;
        throw std::runtime_error("boom");
    });
    t.start();
    std::this_thread::sleep_for(60ms);
    t.stop();
    CHECK(ticks >= 2);
}

TEST_CASE("signal group stamps its max_age on what it publishes") {
    SignalStore store;
    SignalGroup g(store, "test", "test source", std::chrono::seconds{300});
    g.publish({{{"a", "1"}}, {}, {}});
    g.fail("down", {{"test.reachable", "false"}});
    for (const auto& s : store.snapshot()) CHECK(s.max_age == std::chrono::seconds{300});
    CHECK(store.snapshot().size() == 1);
}
