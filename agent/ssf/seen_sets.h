// The SETs a stream has delivered lately, by (iss, jti), so that one
// delivered again is acknowledged and never applied twice. Redelivery is
// normal in poll delivery (RFC 8936 §2.4: an acknowledgement that did not
// arrive), and a replay must not count as a new event.
//
//   SeenSets seen(trust.max_age);
//   if (!seen.first(e.issuer, e.jti, e.issued_at, now)) { ack(e.jti); return; }   // already applied
//   apply(e);
//
// An entry is kept until its iat is max_age old: verify_set refuses SETs
// older than that, so every replay that passes it is still remembered.
// Memory only: after a restart a SET may be applied again, which is why
// what vigild does with one is idempotent (ending the sessions opened
// before the event again ends nothing new). Bounded: past max_entries the
// oldest entries go first.
#ifndef VIGIL_SSF_SEEN_SETS_H
#define VIGIL_SSF_SEEN_SETS_H

#include <chrono>
#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <utility>

namespace vigil {

class SeenSets {
public:
    using TimePoint = std::chrono::system_clock::time_point;

    explicit SeenSets(std::chrono::seconds keep, size_t max_entries = 100000);

    // True the first time (iss, jti) is offered; it is then remembered.
    bool first(const std::string& iss, const std::string& jti, TimePoint issued_at, TimePoint now);

    size_t size() const { return by_key_.size(); }

private:
    using Key = std::pair<std::string, std::string>;
    void forget_older_than(TimePoint cutoff);

    std::chrono::seconds keep_;
    size_t max_entries_;
    std::map<Key, TimePoint> by_key_;
    std::set<std::pair<TimePoint, Key>> by_time_;
};

}  // namespace vigil

#endif
