// Identical questions asked at once share one PDP call. Two hundred sudo
// requests by one user in the same second ask the PDP the same thing two
// hundred times; the first asks, and those that come while its call is out
// wait for its answer, each within its own deadline (Go's singleflight).
// "Identical" is question_key: every fact the PDP is given, but the time
// and the request id.
//
// A follower's result is the leader's, with shared_with naming the
// leader's request id, so the trail says which call answered it. Only a
// leader's "timeout" is not passed on while the follower still has time (it
// came later: its deadline is later): that follower asks itself.
//
//   SharedCalls calls;
//   PdpResult r = calls.ask(question_key(q), request_id, deadline,
//                           [&](std::chrono::milliseconds left) { return ask_once(q, request_id, left); });
#ifndef VIGIL_PDP_SHARED_CALLS_H
#define VIGIL_PDP_SHARED_CALLS_H

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "pdp_result.h"

namespace vigil {

class SharedCalls {
public:
    using Ask = std::function<PdpResult(std::chrono::milliseconds deadline)>;

    PdpResult ask(const std::string& key, const std::string& request_id, std::chrono::milliseconds deadline,
                  const Ask& ask);
    // Requests waiting now for a call made for another.
    size_t waiting();

private:
    struct Call {
        std::string leader;  // the request id the call is made for
        std::optional<PdpResult> result;
        std::condition_variable done;
    };

    PdpResult lead(const std::string& key, const std::shared_ptr<Call>& call, std::chrono::milliseconds deadline,
                   const Ask& ask);
    void publish(const std::string& key, const std::shared_ptr<Call>& call, const PdpResult& result);
    PdpResult follow(std::unique_lock<std::mutex>& lock, std::shared_ptr<Call> call,
                     std::chrono::steady_clock::time_point until, const Ask& ask);

    std::mutex mu_;
    std::unordered_map<std::string, std::shared_ptr<Call>> in_flight_;
    size_t waiting_ = 0;
};

}  // namespace vigil

#endif
