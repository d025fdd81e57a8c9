#include "shared_calls.h"

#include <catch2/catch.hpp>
#include <future>
#include <latch>
#include <thread>

using vigil::PdpResult;
using vigil::PdpStatus;
using vigil::SharedCalls;
using namespace std::chrono_literals;

namespace {

// A PDP call held open until released: counts the calls made.
struct HeldPdp {
    std::atomic<int> calls{0};
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    std::latch entered{1};
    PdpResult answer;

    HeldPdp() {
        answer.status = PdpStatus::Answered;
        answer.allow = true;
    }
    SharedCalls::Ask ask() {
        return [this](std::chrono::milliseconds) {
            if (calls++ == 0) entered.count_down();
            released.wait();
            return answer;
        };
    }
};

// Until n requests wait on calls made for others.
void until_waiting(SharedCalls& calls, size_t n) {
    for (int i = 0; i < 5000 && calls.waiting() < n; ++i) std::this_thread::sleep_for(1ms);
    REQUIRE(calls.waiting() == n);
}

}  // namespace

TEST_CASE("shared calls: questions asked while the same one is out wait for its answer; one call is made") {
    SharedCalls calls;
    HeldPdp pdp;
    auto leader = std::async(std::launch::async, [&] { return calls.ask("k", "req-1", 5s, pdp.ask()); });
    pdp.entered.wait();
    std::vector<std::future<PdpResult>> followers;
    for (int i = 0; i < 8; ++i) {
        followers.push_back(std::async(std::launch::async,
                                       [&, i] { return calls.ask("k", "req-f" + std::to_string(i), 5s, pdp.ask()); }));
    }
    // A different question is not held behind it.
    HeldPdp other;
    other.release.set_value();
    CHECK(calls.ask("other", "req-o", 5s, other.ask()).shared_with.empty());
    until_waiting(calls, 8);
    CHECK(pdp.calls.load() == 1);
    pdp.release.set_value();
    PdpResult first = leader.get();
    CHECK(first.allow);
    CHECK(first.shared_with.empty());
    for (auto& f : followers) {
        PdpResult r = f.get();
        CHECK(r.status == PdpStatus::Answered);
        CHECK(r.allow);
        CHECK(r.shared_with == "req-1");
    }
    CHECK(pdp.calls.load() == 1);
    CHECK(calls.waiting() == 0);
}

TEST_CASE("shared calls: a follower whose deadline passes first is told so, as a timeout") {
    SharedCalls calls;
    HeldPdp pdp;
    auto leader = std::async(std::launch::async, [&] { return calls.ask("k", "req-1", 5s, pdp.ask()); });
    pdp.entered.wait();
    PdpResult late = calls.ask("k", "req-2", 30ms, pdp.ask());
    CHECK(late.status == PdpStatus::Failed);
    CHECK(late.error_kind == "timeout");
    CHECK(late.shared_with == "req-1");
    pdp.release.set_value();
    CHECK(leader.get().allow);
    CHECK(pdp.calls.load() == 1);
}

TEST_CASE("shared calls: the leader's timeout is not a follower's while it still has time: it asks itself") {
    SharedCalls calls;
    std::latch entered{1};
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    std::atomic<int> asked{0};
    auto ask = [&](std::chrono::milliseconds) {
        PdpResult r;
        if (asked++ == 0) {
            entered.count_down();
            released.wait();
            r.error_kind = "timeout";  // the leader's own budget ran out
            return r;
        }
        r.status = PdpStatus::Answered;
        r.allow = true;
        return r;
    };
    auto leader = std::async(std::launch::async, [&] { return calls.ask("k", "req-1", 5s, ask); });
    entered.wait();
    auto follower = std::async(std::launch::async, [&] { return calls.ask("k", "req-2", 5s, ask); });
    until_waiting(calls, 1);
    release.set_value();
    CHECK(leader.get().status == PdpStatus::Failed);
    PdpResult r = follower.get();
    CHECK(r.allow);
    CHECK(r.shared_with.empty());
    CHECK(asked.load() == 2);
}

TEST_CASE("shared calls: a leader that throws still releases its followers") {
    SharedCalls calls;
    std::latch entered{1};
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    auto throwing = [&](std::chrono::milliseconds) -> PdpResult {
        entered.count_down();
        released.wait();
        throw std::runtime_error("boom");
    };
    auto leader = std::async(std::launch::async, [&] { return calls.ask("k", "req-1", 5s, throwing); });
    entered.wait();
    auto follower = std::async(std::launch::async, [&] { return calls.ask("k", "req-2", 5s, throwing); });
    until_waiting(calls, 1);
    release.set_value();
    CHECK_THROWS(leader.get());
    PdpResult r = follower.get();
    CHECK(r.status == PdpStatus::Failed);
    CHECK(r.shared_with == "req-1");
}
