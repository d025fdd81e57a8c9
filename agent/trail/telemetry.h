// vigild's own metrics: every family's name, type, help and labels in one
// table, the process-wide registry they live in, and one small function per
// thing counted, so an instrumented call site stays one line.
//
//   count_decision("sshd", "account", "allow");
//   observe_pdp_call("cerbos", 2.4ms, "");          // "" : it answered
//   vigil_metrics().render();                       // the textfile writer
//
// Gauges that are read rather than counted (live sessions, grants, signal
// ages) are set by sample_gauges() right before each write.
#ifndef VIGIL_TRAIL_TELEMETRY_H
#define VIGIL_TRAIL_TELEMETRY_H

#include <chrono>
#include <string_view>

#include "metrics.h"
#include "signal.h"

namespace vigil {

// The registry, with every vigil_ family defined on first use.
Metrics& vigil_metrics();
// Defines vigil's families in m (tests use their own registry).
void define_vigil_metrics(Metrics& m);

void count_decision(std::string_view service, std::string_view phase, std::string_view outcome);
// error_kind: empty when the PDP answered, else the failure's kind
// ("timeout", "connect", "http_status", "circuit_open", "malformed", ...).
void observe_pdp_call(std::string_view pdp, std::chrono::microseconds took, std::string_view error_kind);
void count_session_end(std::string_view reason);
void count_revocation();
void count_config_reload(bool ok);
void count_audit_failure();
void count_break_glass(std::string_view service);
// [rollout]: vigil_report_mode{service} is 1 where decisions are only
// reported, 0 where they are enforced; service="default" for the rest.
struct RolloutSettings;
void publish_rollout(const RolloutSettings& r);

struct GaugeSample {
    size_t sessions_live = 0;
    size_t grants_live = 0;
    posture::Snapshot signals;
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now();
    bool up = true;  // false for the last write at exit
};
void sample_gauges(Metrics& m, const GaugeSample& s);

}  // namespace vigil

#endif
