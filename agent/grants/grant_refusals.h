// Grant requests refused before any decision — over the rate limit, a group
// or account not offered, a malformed request, an unacceptable reason — are
// counted, not recorded one by one: a user looping requests on the grant
// socket must not fill the trail's disk or the journal.
//
// Per uid, the 1st, 2nd, 4th, 8th... refusal of a streak is logged (a
// streak ends after `every` without a refusal). The trail gets one
// "grant_requests_refused" record at the first refusal after a quiet
// `every`, then at most one per `every` (written by a thread of its own, and
// at destruction) with the counts since the one before, per uid and reason:
//
//   {"event":"grant_requests_refused","since":"…","count":9995,
//    "reasons":{"rate_limited":9995},
//    "uids":[{"uid":20004,"user":"eve","count":9995,"reasons":{"rate_limited":9995}}]}
//
//   GrantRefusals refusals([&](nlohmann::ordered_json r) { trail.append(r); }, std::chrono::minutes(1));
//   refusals.note(peer.uid, "eve", GrantRefusal::RateLimited, std::chrono::steady_clock::now());
#ifndef VIGIL_GRANTS_GRANT_REFUSALS_H
#define VIGIL_GRANTS_GRANT_REFUSALS_H

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

namespace vigil {

enum class GrantRefusal {
    UnknownUid,          // the peer's uid has no user name
    RateLimited,         // over [grants] requests_burst / requests_every
    Malformed,           // not {group|account, seconds, reason[, bind]}
    NotOffered,          // the group or account is not under [[grants.group]] / [[grants.account]]
    BadReason,           // empty, too long, not printable, or not matching [step_up.purpose] pattern
    BindWithoutSession,  // --bind from a process in no session vigild watches
};

// "rate_limited", "not_offered", ...: the keys of the trail record.
const char* to_string(GrantRefusal r);

class GrantRefusals {
public:
    using Clock = std::chrono::steady_clock;
    using Sink = std::function<void(nlohmann::ordered_json)>;

    // sink writes a record to the trail; it is called from note() and from
    // this object's thread, never twice at once.
    explicit GrantRefusals(Sink sink, Clock::duration every = std::chrono::minutes(1));
    ~GrantRefusals();  // writes what is still pending
    GrantRefusals(const GrantRefusals&) = delete;
    GrantRefusals& operator=(const GrantRefusals&) = delete;

    void note(uint32_t uid, const std::string& user, GrantRefusal why, Clock::time_point now);

    // Writes the pending counts when the last record is `every` old (the
    // thread calls it; tests call it with their own clock).
    void flush_due(Clock::time_point now);

private:
    struct Uid {
        std::string user;
        uint64_t streak = 0;  // refusals since the streak began
        std::chrono::system_clock::time_point streak_since;
        Clock::time_point last{};
        uint64_t pending = 0;  // since the last record
        std::map<GrantRefusal, uint64_t> pending_by;
    };

    void write_locked(Clock::time_point now);  // mu_ held
    void run();

    Sink sink_;
    const Clock::duration every_;
    std::mutex mu_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::map<uint32_t, Uid> uids_;
    uint64_t pending_ = 0;  // all uids, since the last record
    std::map<GrantRefusal, uint64_t> pending_by_;
    uint64_t pending_untracked_ = 0;               // of uids past the table's cap
    std::chrono::system_clock::time_point since_;  // the first pending refusal
    Clock::time_point last_written_{};
    bool written_ = false;
    std::thread thread_;  // last: starts once everything above exists
};

}  // namespace vigil

#endif
