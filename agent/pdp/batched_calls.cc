#include "batched_calls.h"

#include <fmt/format.h>

#include <algorithm>

#include "log.h"

namespace vigil {
namespace {

using std::chrono::milliseconds;

// A question whose batch timed out asks again only with this much left.
constexpr milliseconds kMinRetry{10};

PdpResult failure(std::string kind, std::string why) {
    PdpResult r;
    r.status = PdpStatus::Failed;
    r.error_kind = std::move(kind);
    r.error = std::move(why);
    return r;
}

}  // namespace

BatchedCalls::BatchedCalls(size_t max_in_flight, size_t max_batch, Send send)
    : max_in_flight_(std::max<size_t>(max_in_flight, 1)),
      max_batch_(std::max<size_t>(max_batch, 1)),
      send_(std::move(send)) {}

PdpResult BatchedCalls::ask(const PdpQuery& query, const std::string& request_id, milliseconds deadline) {
    Entry e{.question = {&query, &request_id},
            .subject = subject_key(query),
            .until = Clock::now() + deadline,
            .result = std::nullopt,
            .wake = {}};
    std::unique_lock lock(mu_);
    queue_.push_back(&e);
    for (;;) {
        if (e.result) return std::move(*e.result);
        if (e.taken) {
            // A call that holds it is out; it ends within its deadline.
            e.wake.wait(lock);
        } else if (in_flight_ < max_in_flight_) {
            send_batch(lock, take_batch(e));
        } else if (e.wake.wait_until(lock, e.until) == std::cv_status::timeout && !e.taken && !e.result) {
            return gave_up(e);
        }
    }
}

// own and, unless it must go alone, the oldest other questions that can go
// with it: not alone, a subject not yet in the batch, time left.
std::vector<BatchedCalls::Entry*> BatchedCalls::take_batch(Entry& own) {
    std::vector<Entry*> batch{&own};
    std::erase(queue_, &own);
    own.taken = true;
    if (own.alone) return batch;
    const Clock::time_point now = Clock::now();
    for (auto it = queue_.begin(); it != queue_.end() && batch.size() < max_batch_;) {
        Entry* e = *it;
        bool fits = !e->alone && e->until > now &&
                    std::none_of(batch.begin(), batch.end(), [e](Entry* b) { return b->subject == e->subject; });
        if (!fits) {
            ++it;
            continue;
        }
        e->taken = true;
        batch.push_back(e);
        it = queue_.erase(it);
    }
    return batch;
}

void BatchedCalls::send_batch(std::unique_lock<std::mutex>& lock, const std::vector<Entry*>& batch) {
    ++in_flight_;
    ++counts_.calls;
    if (batch.size() > 1) ++counts_.batches;
    wake_next();  // a slot may still be free for the questions left behind
    Clock::time_point until = batch.front()->until;
    std::vector<Question> questions;
    for (Entry* e : batch) {
        until = std::min(until, e->until);
        questions.push_back(e->question);
    }
    auto left = std::max(milliseconds(0), std::chrono::duration_cast<milliseconds>(until - Clock::now()));
    std::vector<PdpResult> results;
    lock.unlock();
    try {
        results = send_(questions, left);
    } catch (...) {
        // The others still get a result, or they would wait for ever.
        lock.lock();
        --in_flight_;
        settle(batch, {});
        wake_next();
        throw;
    }
    lock.lock();
    --in_flight_;
    settle(batch, std::move(results));
    wake_next();
}

// Hands each question its result, or queues it again: after a refused
// batch (alone), or after its batch ran out of the earliest deadline in it.
void BatchedCalls::settle(const std::vector<Entry*>& batch, std::vector<PdpResult> results) {
    if (results.size() != batch.size()) {
        results.assign(batch.size(), failure("other", "the PDP call for this question failed inside vigild"));
    }
    bool refused = batch.size() > 1 && std::all_of(results.begin(), results.end(),
                                                   [](const PdpResult& r) { return r.status == PdpStatus::Declined; });
    if (refused && max_batch_ > 1) {
        max_batch_ = 1;
        log_warn("pdp: the PDP refused a batch of {} evaluations ({}); asking one question per call from now on",
                 batch.size(), results.front().error);
    }
    const Clock::time_point now = Clock::now();
    for (size_t i = batch.size(); i-- > 0;) {
        Entry* e = batch[i];
        PdpResult& r = results[i];
        bool retry = batch.size() > 1 && r.status == PdpStatus::Failed && r.error_kind == "timeout" &&
                     e->until - now >= kMinRetry;
        e->taken = false;
        if (refused || retry) {
            e->alone = e->alone || refused;
            queue_.push_front(e);  // back to where it was: before the questions asked after it
        } else {
            e->result = std::move(r);
        }
        e->wake.notify_one();
    }
}

// A call ended or began: the oldest waiting question may make the next one.
void BatchedCalls::wake_next() {
    if (in_flight_ < max_in_flight_ && !queue_.empty()) queue_.front()->wake.notify_one();
}

PdpResult BatchedCalls::gave_up(Entry& e) {
    std::erase(queue_, &e);
    return failure("busy", fmt::format("all {} PDP calls stayed out until the deadline", max_in_flight_));
}

BatchedCalls::Counts BatchedCalls::counts() const {
    std::lock_guard lock(mu_);
    Counts c = counts_;
    c.waiting = queue_.size();
    return c;
}

}  // namespace vigil
