#include "telemetry.h"

#include "rollout.h"

namespace vigil {
namespace {

// Wide enough for a PDP on loopback (a few ms) and one across a WAN at its
// timeout (the default is 1.5 s; the longest allowed, 5 s).
const std::vector<double> kPdpBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};

}  // namespace

void define_vigil_metrics(Metrics& m) {
    m.define({"vigil_up", MetricType::Gauge, "1 while vigild runs; 0 in the file it leaves at exit."});
    m.define({"vigil_build_info", MetricType::Gauge, "vigild's version, as a label; always 1.", {"version"}});
    m.set("vigil_build_info", {VIGIL_VERSION}, 1);
    m.define({"vigil_decisions_total",
              MetricType::Counter,
              "Decisions concluded and written to the trail, by PAM service, phase and outcome.",
              {"service", "phase", "outcome"}});
    m.define({"vigil_pdp_request_duration_seconds",
              MetricType::Histogram,
              "Time spent asking the PDP for one decision, failover included.",
              {"pdp"},
              kPdpBuckets});
    m.define(
        {"vigil_pdp_errors_total", MetricType::Counter, "PDP calls that gave no usable answer, by why.", {"kind"}});
    m.define({"vigil_signal_age_seconds", MetricType::Gauge, "Age of each posture signal vigild holds.", {"signal"}});
    m.define({"vigil_sessions_live", MetricType::Gauge, "Sessions vigild is watching."});
    m.define({"vigil_sessions_ended_total", MetricType::Counter, "Watched sessions that ended, by why.", {"reason"}});
    m.define({"vigil_revocations_total", MetricType::Counter, "Sessions ended by an admin (vigilctl revoke)."});
    m.define({"vigil_grants_live", MetricType::Gauge, "Just-in-time grants in force."});
    m.define({"vigil_config_reloads_total", MetricType::Counter, "Reloads (SIGHUP), by result.", {"result"}});
    m.define({"vigil_audit_write_failures_total", MetricType::Counter,
              "Decisions whose trail record could not be written (each allow became a deny)."});
    m.define({"vigil_break_glass_total",
              MetricType::Counter,
              "Requests let through by break-glass while vigild could not be reached (recorded when it is "
              "back), by PAM service.",
              {"service"}});
    m.define({"vigil_report_mode",
              MetricType::Gauge,
              "1 where vigil only reports what it would decide ([rollout] mode = \"report\"), 0 where it enforces; "
              "service=\"default\" for services not listed.",
              {"service"}});
    m.set("vigil_up", {}, 1);
}

Metrics& vigil_metrics() {
    static Metrics* m = [] {
        auto* fresh = new Metrics;  // never destroyed: worker threads may count during exit
        define_vigil_metrics(*fresh);
        return fresh;
    }();
    return *m;
}

void count_decision(std::string_view service, std::string_view phase, std::string_view outcome) {
    vigil_metrics().add("vigil_decisions_total", {std::string(service), std::string(phase), std::string(outcome)});
}

void observe_pdp_call(std::string_view pdp, std::chrono::microseconds took, std::string_view error_kind) {
    vigil_metrics().observe("vigil_pdp_request_duration_seconds", {std::string(pdp)}, took.count() / 1e6);
    if (!error_kind.empty()) vigil_metrics().add("vigil_pdp_errors_total", {std::string(error_kind)});
}

void count_session_end(std::string_view reason) {
    vigil_metrics().add("vigil_sessions_ended_total", {std::string(reason)});
}

void count_revocation() { vigil_metrics().add("vigil_revocations_total", {}); }

void count_break_glass(std::string_view service) {
    vigil_metrics().add("vigil_break_glass_total", {std::string(service)});
}

void publish_rollout(const RolloutSettings& r) {
    vigil_metrics().set("vigil_report_mode", {"default"}, r.mode == Mode::Report ? 1 : 0);
    for (const auto& [service, mode] : r.services) {
        vigil_metrics().set("vigil_report_mode", {service}, mode == Mode::Report ? 1 : 0);
    }
}

void count_config_reload(bool ok) { vigil_metrics().add("vigil_config_reloads_total", {ok ? "ok" : "refused"}); }

void count_audit_failure() { vigil_metrics().add("vigil_audit_write_failures_total", {}); }

void sample_gauges(Metrics& m, const GaugeSample& s) {
    m.set("vigil_up", {}, s.up ? 1 : 0);
    m.set("vigil_sessions_live", {}, static_cast<double>(s.sessions_live));
    m.set("vigil_grants_live", {}, static_cast<double>(s.grants_live));
    m.clear("vigil_signal_age_seconds");
    for (const posture::Signal& sig : s.signals) {
        auto age = std::chrono::duration_cast<std::chrono::milliseconds>(s.now - sig.observed_at);
        m.set("vigil_signal_age_seconds", {sig.name}, age.count() / 1000.0);
    }
}

}  // namespace vigil
