#include "batched_calls.h"

#include <catch2/catch.hpp>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>

using vigil::BatchedCalls;
using vigil::PdpQuery;
using vigil::PdpResult;
using vigil::PdpStatus;
using namespace std::chrono_literals;

namespace {

PdpQuery query_of(const std::string& user) {
    PdpQuery q;
    q.subject = {{"type", "user"}, {"id", user}};
    return q;
}

// A PDP that records every call (the request ids it held) and answers
// "allow" for each, or what `answer` says. The first `held` calls wait
// until release() is called.
class FakePdp {
public:
    explicit FakePdp(int held = 0) : held_(held) {}

    BatchedCalls::Send send() {
        return [this](const std::vector<BatchedCalls::Question>& qs, std::chrono::milliseconds left) {
            std::vector<std::string> ids;
            for (const auto& q : qs) ids.push_back(*q.request_id);
            std::unique_lock lock(mu_);
            calls_.push_back(ids);
            deadlines_.push_back(left);
            int n = static_cast<int>(calls_.size());
            changed_.notify_all();
            changed_.wait(lock, [&] { return n > held_ || released_; });
            std::vector<PdpResult> out;
            for (size_t i = 0; i < qs.size(); ++i) out.push_back(answer ? answer(qs, n) : allow());
            return out;
        };
    }
    // The next call waits for release() again.
    void hold_next() {
        std::lock_guard lock(mu_);
        held_ = static_cast<int>(calls_.size()) + 1;
        released_ = false;
    }
    void release() {
        std::lock_guard lock(mu_);
        released_ = true;
        changed_.notify_all();
    }
    void until_calls(size_t n) {
        std::unique_lock lock(mu_);
        REQUIRE(changed_.wait_for(lock, 5s, [&] { return calls_.size() >= n; }));
    }
    std::vector<std::vector<std::string>> calls() {
        std::lock_guard lock(mu_);
        return calls_;
    }
    std::chrono::milliseconds deadline(size_t call) {
        std::lock_guard lock(mu_);
        return deadlines_.at(call);
    }
    static PdpResult allow() {
        PdpResult r;
        r.status = PdpStatus::Answered;
        r.allow = true;
        return r;
    }

    // Set before the first call: the result of each question in call n (from 1).
    std::function<PdpResult(const std::vector<BatchedCalls::Question>&, int)> answer;

private:
    int held_;
    std::mutex mu_;
    std::condition_variable changed_;
    std::vector<std::vector<std::string>> calls_;
    std::vector<std::chrono::milliseconds> deadlines_;
    bool released_ = false;
};

// Until n questions are queued behind the calls out.
void until_waiting(BatchedCalls& calls, size_t n) {
    for (int i = 0; i < 5000 && calls.waiting() < n; ++i) std::this_thread::sleep_for(1ms);
    REQUIRE(calls.waiting() == n);
}

// Asks for user `user` on its own thread, with request id `id`.
std::future<PdpResult> ask_async(BatchedCalls& calls, const std::string& user, const std::string& id,
                                 std::chrono::milliseconds deadline = 5s) {
    return std::async(std::launch::async, [&calls, user, id, deadline] {
        PdpQuery q = query_of(user);
        return calls.ask(q, id, deadline);
    });
}

// A call held out for alice ("req-0"; the pdp must hold its first call),
// and questions queued behind it in this order, user i as "req-i" (from 1)
// with deadlines[i - 1] if given (else 5 s).
struct Queue {
    std::future<PdpResult> first;
    std::vector<std::future<PdpResult>> waiting;
};
Queue hold_and_queue(BatchedCalls& calls, FakePdp& pdp, const std::vector<std::string>& users,
                     const std::vector<std::chrono::milliseconds>& deadlines = {}) {
    Queue q;
    q.first = ask_async(calls, "alice", "req-0");
    pdp.until_calls(1);
    for (size_t i = 0; i < users.size(); ++i) {
        auto deadline = i < deadlines.size() ? deadlines[i] : std::chrono::milliseconds(5s);
        q.waiting.push_back(ask_async(calls, users[i], "req-" + std::to_string(i + 1), deadline));
        until_waiting(calls, i + 1);
    }
    return q;
}

}  // namespace

TEST_CASE("batched calls: a question asked while a call is free goes out at once, alone") {
    FakePdp pdp;
    BatchedCalls calls(2, 50, pdp.send());
    PdpQuery q = query_of("alice");
    PdpResult r = calls.ask(q, "req-1", 1s);
    CHECK(r.status == PdpStatus::Answered);
    CHECK(r.allow);
    REQUIRE(pdp.calls().size() == 1);
    CHECK(pdp.calls()[0] == std::vector<std::string>{"req-1"});
    CHECK(calls.counts().batches == 0);
}

TEST_CASE("batched calls: questions that wait for a call go out together in the next one, oldest first") {
    FakePdp pdp(1);
    BatchedCalls calls(1, 50, pdp.send());
    Queue q = hold_and_queue(calls, pdp, {"bob", "carol", "dave"});
    pdp.release();
    CHECK(q.first.get().allow);
    for (auto& f : q.waiting) CHECK(f.get().allow);
    auto made = pdp.calls();
    REQUIRE(made.size() == 2);
    CHECK(made[1] == std::vector<std::string>{"req-1", "req-2", "req-3"});
    CHECK(calls.counts().calls == 2);
    CHECK(calls.counts().batches == 1);
}

TEST_CASE("batched calls: a batch holds one question per subject, and at most max_batch") {
    FakePdp pdp(1);
    BatchedCalls calls(1, 2, pdp.send());
    // bob twice (two different questions of one user), then carol and dave.
    Queue q = hold_and_queue(calls, pdp, {"bob", "bob", "carol", "dave"});
    pdp.release();
    q.first.get();
    for (auto& f : q.waiting) CHECK(f.get().allow);
    auto made = pdp.calls();
    REQUIRE(made.size() == 3);
    // The batch after the first call takes bob (req-1) and carol; the second
    // bob waits for a batch without bob; dave fills the room left.
    CHECK(made[1] == std::vector<std::string>{"req-1", "req-3"});
    CHECK(made[2] == std::vector<std::string>{"req-2", "req-4"});
}

TEST_CASE("batched calls: a question still queued at its deadline fails as busy; the call out is not disturbed") {
    FakePdp pdp(1);
    BatchedCalls calls(1, 50, pdp.send());
    Queue q = hold_and_queue(calls, pdp, {});
    PdpQuery bob = query_of("bob");
    PdpResult late = calls.ask(bob, "req-1", 30ms);
    CHECK(late.status == PdpStatus::Failed);
    CHECK(late.error_kind == "busy");
    CHECK(calls.waiting() == 0);
    pdp.release();
    CHECK(q.first.get().allow);
    CHECK(pdp.calls().size() == 1);
}

TEST_CASE("batched calls: a batch is sent with the earliest deadline in it") {
    FakePdp pdp(1);
    BatchedCalls calls(1, 50, pdp.send());
    Queue q = hold_and_queue(calls, pdp, {"bob", "carol"}, {2s, 5s});
    pdp.release();
    q.first.get();
    for (auto& f : q.waiting) f.get();
    REQUIRE(pdp.calls().size() == 2);
    CHECK(pdp.deadline(1) <= 2s);
    CHECK(pdp.deadline(1) > 1s);
}

TEST_CASE("batched calls: a question whose batch timed out while it still has time asks again") {
    FakePdp pdp(1);
    pdp.answer = [](const std::vector<BatchedCalls::Question>& qs, int call) {
        if (call != 2 || qs.size() < 2) return FakePdp::allow();
        std::this_thread::sleep_for(160ms);  // per question: the batch takes bob's whole 300 ms
        PdpResult r;
        r.error_kind = "timeout";
        r.error = "no answer in time";
        return r;
    };
    BatchedCalls calls(1, 50, pdp.send());
    Queue q = hold_and_queue(calls, pdp, {"bob", "carol"}, {300ms, 5s});
    pdp.release();
    q.first.get();
    // bob's deadline was the batch's: its timeout is final. carol asks again.
    PdpResult b = q.waiting[0].get();
    CHECK(b.status == PdpStatus::Failed);
    CHECK(b.error_kind == "timeout");
    CHECK(q.waiting[1].get().allow);
    auto made = pdp.calls();
    REQUIRE(made.size() == 3);
    CHECK(made[2] == std::vector<std::string>{"req-2"});
}

TEST_CASE("batched calls: a refused batch is asked again one question at a time, and no batch is sent after") {
    FakePdp pdp(1);
    pdp.answer = [](const std::vector<BatchedCalls::Question>& qs, int) {
        if (qs.size() < 2) return FakePdp::allow();
        PdpResult r;
        r.status = PdpStatus::Declined;
        r.error_kind = "http_status";
        r.error = "HTTP 404";
        return r;
    };
    BatchedCalls calls(1, 50, pdp.send());
    Queue q = hold_and_queue(calls, pdp, {"bob", "carol"});
    pdp.release();
    q.first.get();
    for (auto& f : q.waiting) CHECK(f.get().allow);
    auto made = pdp.calls();
    REQUIRE(made.size() == 4);
    CHECK(made[1].size() == 2);
    CHECK(made[2].size() == 1);
    CHECK(made[3].size() == 1);
    // From now on, one question per call even when several wait.
    pdp.hold_next();
    auto dave = ask_async(calls, "dave", "req-4");
    pdp.until_calls(5);
    auto erin = ask_async(calls, "erin", "req-5");
    until_waiting(calls, 1);
    auto frank = ask_async(calls, "frank", "req-6");
    until_waiting(calls, 2);
    pdp.release();
    for (auto* f : {&dave, &erin, &frank}) CHECK(f->get().allow);
    made = pdp.calls();
    REQUIRE(made.size() == 7);
    CHECK(made[5].size() == 1);
    CHECK(made[6].size() == 1);
    CHECK(calls.counts().batches == 1);
}

TEST_CASE("batched calls: a call that throws still answers the other questions in it") {
    FakePdp pdp(1);
    BatchedCalls calls(1, 50, [&](const std::vector<BatchedCalls::Question>& qs, std::chrono::milliseconds left) {
        if (qs.size() > 1) throw std::runtime_error("boom");
        return pdp.send()(qs, left);
    });
    Queue q = hold_and_queue(calls, pdp, {"bob", "carol"});
    pdp.release();
    q.first.get();
    // Whichever of the two sent the batch sees the exception; the other a failure.
    int threw = 0, failed = 0;
    for (auto& f : q.waiting) {
        try {
            PdpResult r = f.get();
            failed += r.status == PdpStatus::Failed && r.error_kind == "other";
        } catch (const std::runtime_error&) {
            ++threw;
        }
    }
    CHECK(threw == 1);
    CHECK(failed == 1);
    CHECK(calls.waiting() == 0);
}
