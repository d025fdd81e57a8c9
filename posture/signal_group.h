// The signals one posture source owns, and the failure handling every
// collector shares: publish what was read, forget (make missing) what can no
// longer be vouched for, and log the source's health once per change, not
// once per interval.
//
//   SignalGroup group(store, "clamd", "clamd posture (/run/clamav/clamd.ctl)");
//   auto reading = parse_clamd_version(answer, now);          // Result<Reading>
//   if (reading) group.publish(*reading);                      // stale names forgotten
//   else group.fail(reading.error().message, {{"clamd.alive", "false"}});
//
// Every value is checked before it reaches the store: printable text of at
// most kMaxSignalValue bytes. A value that is not is dropped (the signal is
// missing) and named in the log, so a misbehaving source cannot put control
// characters into vigild's log lines or an oversized blob into every audit
// record.
//
// A failure or problem is logged when its text differs from the last one, so
// texts must say the same words for the same condition: no byte counts,
// ages or clocks in them, or the log repeats every interval.
#ifndef VIGIL_POSTURE_SIGNAL_GROUP_H
#define VIGIL_POSTURE_SIGNAL_GROUP_H

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "signal_store.h"

namespace vigil::posture {

inline constexpr size_t kMaxSignalValue = 256;

// Signal name -> value.
using SignalValues = std::map<std::string, std::string>;

// What one look at a source yielded: the values it had, and what it should
// have had but did not (each problem names the signal or field).
struct Reading {
    SignalValues values;
    std::vector<std::string> problems;
    std::set<std::string> ticking;  // which of values are ages or timestamps (Signal::ticking)
};

class SignalGroup {
public:
    // source: Signal::source of everything published. label: how log lines
    // name this source ("socket posture \"edr\" (/run/edr.sock)").
    // max_age: Signal::max_age of everything published.
    SignalGroup(SignalStore& store, std::string source, std::string label, std::chrono::seconds max_age);
    SignalGroup(const SignalGroup&) = delete;
    SignalGroup& operator=(const SignalGroup&) = delete;

    // Publishes r.values and forgets every signal this group published
    // before that r no longer has. r.problems (plus any value refused) make
    // the source "partly healthy", logged when that changes.
    void publish(const Reading& r);
    // The source failed: forgets every signal this group published, then
    // publishes still_known (facts the failure itself establishes, such as
    // "<name>.reachable" = "false"). Logs why when the state changed.
    void fail(const std::string& why, const SignalValues& still_known = {});

private:
    void report_health(const std::string& problem);
    void forget_all_but(const SignalValues& keep);

    SignalStore& store_;
    std::string source_;
    std::string label_;
    std::chrono::seconds max_age_;
    std::set<std::string> published_;
    std::optional<std::string> state_;  // "" healthy, else what is wrong; unset before the first look
};

// Empty when value may be published; otherwise why not.
std::string check_signal_value(const std::string& value);

}  // namespace vigil::posture

#endif
