#include "shared_calls.h"

#include <fmt/format.h>

namespace vigil {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A follower left with less than this asks no more: it could hardly succeed.
constexpr milliseconds kMinOwnAsk{10};

}  // namespace

PdpResult SharedCalls::ask(const std::string& key, const std::string& request_id, milliseconds deadline,
                           const Ask& ask) {
    auto until = Clock::now() + deadline;
    std::unique_lock lock(mu_);
    // A follower holds its own reference: the leader drops the map's when done.
    if (auto it = in_flight_.find(key); it != in_flight_.end()) return follow(lock, it->second, until, ask);
    auto call = std::make_shared<Call>();
    call->leader = request_id;
    in_flight_.emplace(key, call);
    lock.unlock();
    return lead(key, call, deadline, ask);
}

PdpResult SharedCalls::lead(const std::string& key, const std::shared_ptr<Call>& call, milliseconds deadline,
                            const Ask& ask) {
    PdpResult r;
    try {
        r = ask(deadline);
    } catch (...) {
        // The followers still get a result, or they would wait out their
        // deadlines for nothing.
        PdpResult failed;
        failed.error_kind = "other";
        failed.error = "the PDP call for an identical question failed inside vigild";
        publish(key, call, failed);
        throw;
    }
    publish(key, call, r);
    return r;
}

// The call is over: its followers get its result, and the question is out
// of flight (the next one asks again).
void SharedCalls::publish(const std::string& key, const std::shared_ptr<Call>& call, const PdpResult& result) {
    std::lock_guard lock(mu_);
    call->result = result;
    in_flight_.erase(key);
    call->done.notify_all();
}

PdpResult SharedCalls::follow(std::unique_lock<std::mutex>& lock, std::shared_ptr<Call> call, Clock::time_point until,
                              const Ask& ask) {
    ++waiting_;
    bool answered = call->done.wait_until(lock, until, [&] { return call->result.has_value(); });
    --waiting_;
    if (!answered) {
        PdpResult r;
        r.error_kind = "timeout";
        r.error = fmt::format("the identical question asked for request {} did not come back in time", call->leader);
        r.shared_with = call->leader;
        return r;
    }
    PdpResult r = *call->result;
    lock.unlock();
    auto left = std::chrono::duration_cast<milliseconds>(until - Clock::now());
    if (r.status == PdpStatus::Failed && r.error_kind == "timeout" && left >= kMinOwnAsk) return ask(left);
    r.shared_with = call->leader;
    return r;
}

size_t SharedCalls::waiting() {
    std::lock_guard lock(mu_);
    return waiting_;
}

}  // namespace vigil
