// What vigild remembers about its own health for `vigilctl status`: when
// the PDP last answered and last failed, and whether the trail's last write
// failed. Counts live in telemetry.h; this keeps the latest of each.
//
//   if (vigil_health().pdp_failed("timeout", why)) log_event(Event::PdpUnreachable, ...);
//   HealthSnapshot h = vigil_health().snapshot();
#ifndef VIGIL_TRAIL_HEALTH_H
#define VIGIL_TRAIL_HEALTH_H

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "policy_versions.h"

namespace vigil {

// A break-glass use vigild took from the module's spool (break_glass_spool.h).
struct BreakGlassNote {
    std::chrono::system_clock::time_point at;
    std::string user, service, why;
};

struct HealthSnapshot {
    using Time = std::chrono::system_clock::time_point;
    std::optional<Time> pdp_last_success;
    std::optional<Time> pdp_last_failure;
    std::string pdp_last_error;  // "<kind>: <message>" of the last failure
    std::string pdp_policy_version;
    std::optional<Time> audit_last_failure;
    std::string audit_last_error;
    bool audit_failing = false;               // the last write failed
    std::string metrics_textfile;             // the file being written; empty: none
    std::string metrics_error;                // why its last write failed; empty: it worked
    std::vector<BreakGlassNote> break_glass;  // the latest uses, oldest first (at most kBreakGlassKept)
    uint64_t break_glass_total = 0;           // since vigild started
    uint64_t would_deny_last_hour = 0;        // report mode: denies not enforced, the last 60 minutes

    // The last PDP call failed (newer than the last success).
    bool pdp_failing() const {
        return pdp_last_failure && (!pdp_last_success || *pdp_last_failure > *pdp_last_success);
    }
};

inline constexpr size_t kBreakGlassKept = 10;

class Health {
public:
    // Each returns true when the state flips (worth one log line).
    bool pdp_answered(const std::string& policy_version);
    // Called (outside the lock, on the answering thread) when an answer
    // names a policy version new to PolicyVersions: the PDP's policy changed.
    void on_pdp_policy_change(std::function<void(const std::string& version)> listener);
    bool pdp_failed(const std::string& kind, const std::string& message);
    void audit_written();
    bool audit_failed(const std::string& message);
    void metrics_written(const std::string& path, const std::string& error);
    void break_glass_used(BreakGlassNote note);
    // Report mode recorded a would-be deny (counted per minute for an hour).
    void would_deny(std::chrono::system_clock::time_point at = std::chrono::system_clock::now());
    HealthSnapshot snapshot_at(std::chrono::system_clock::time_point now) const;
    HealthSnapshot snapshot() const;

private:
    mutable std::mutex mu_;
    HealthSnapshot s_;
    PolicyVersions versions_;
    std::function<void(const std::string&)> policy_listener_;
    // Would-be denies per minute: minute_[i] is the minute (since the epoch)
    // whose count is in would_deny_[i], i = minute % 60.
    std::array<int64_t, 60> minute_{};
    std::array<uint64_t, 60> would_deny_{};
};

Health& vigil_health();

}  // namespace vigil

#endif
