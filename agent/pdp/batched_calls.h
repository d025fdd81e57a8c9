// Questions that wait for a free PDP connection go out together, as one
// AuthZEN batch (POST /access/v1/evaluations), instead of one call each.
//
// At most max_in_flight calls are out at once. A question asked while a
// call could be made goes out at once, alone: at low load nothing waits and
// nothing changes on the wire. Questions asked while every call is out
// queue; the next call to be made takes the oldest of them, up to
// max_batch, one per subject (Cerbos answers every evaluation of a batch
// that shares subject and resource from the first one: tests/pdp/SHAPES.md,
// example 19). Measured against Cerbos 0.55 directly (bench/pdp_floor):
// eight calls of eight evaluations cost Cerbos 252 µs of CPU per decision,
// eight single calls 727 µs; 6,988 decisions/s against 2,242.
//
// Each question keeps its own deadline. One that is still queued when its
// deadline passes fails with kind "busy"; a batch is sent with the earliest
// deadline in it, and a question whose batch timed out while it still has
// time queues again. A PDP that refuses a batch (a 4xx: it has no batch
// endpoint, or one question in it is bad) gets every question of it again
// one by one, and no more batches from this client (a reload makes a new
// one).
//
//   BatchedCalls calls(8, 50, [&](const std::vector<BatchedCalls::Question>& qs, std::chrono::milliseconds left) {
//       return qs.size() == 1 ? std::vector{ask_once(*qs[0].query, *qs[0].request_id, left)}
//                             : ask_one_batch(qs, left);
//   });
//   PdpResult r = calls.ask(query, request_id, deadline);
#ifndef VIGIL_PDP_BATCHED_CALLS_H
#define VIGIL_PDP_BATCHED_CALLS_H

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "pdp_query.h"
#include "pdp_result.h"

namespace vigil {

class BatchedCalls {
public:
    struct Question {
        const PdpQuery* query;
        const std::string* request_id;
    };
    // Sends the questions (one or more, no subject twice) in one call within
    // deadline; one result per question, in order.
    using Send = std::function<std::vector<PdpResult>(const std::vector<Question>&, std::chrono::milliseconds)>;

    BatchedCalls(size_t max_in_flight, size_t max_batch, Send send);

    PdpResult ask(const PdpQuery& query, const std::string& request_id, std::chrono::milliseconds deadline);

    // Calls made so far, how many of them held more than one question, and
    // the questions queued now, waiting for a call (vigilctl status).
    struct Counts {
        size_t calls = 0;
        size_t batches = 0;
        size_t waiting = 0;
    };
    Counts counts() const;
    size_t waiting() const { return counts().waiting; }

private:
    using Clock = std::chrono::steady_clock;
    struct Entry {
        Question question;
        std::string subject;
        Clock::time_point until;
        bool alone = false;  // its batch was refused: it goes on its own
        bool taken = false;  // in a call that is out
        std::optional<PdpResult> result;
        std::condition_variable wake;
    };

    std::vector<Entry*> take_batch(Entry& own);
    void send_batch(std::unique_lock<std::mutex>& lock, const std::vector<Entry*>& batch);
    void settle(const std::vector<Entry*>& batch, std::vector<PdpResult> results);
    void wake_next();
    PdpResult gave_up(Entry& e);

    const size_t max_in_flight_;
    size_t max_batch_;
    const Send send_;
    mutable std::mutex mu_;
    std::deque<Entry*> queue_;  // asked and not yet taken, oldest first
    size_t in_flight_ = 0;
    Counts counts_;  // calls and batches; waiting is queue_'s size
};

}  // namespace vigil

#endif
