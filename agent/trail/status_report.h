// `vigilctl status`: what vigild says about its health (the AdminStatus
// answer), the verdict, and how the CLI prints it.
//
//   StatusFacts f = ...;                      // vigild: gathered per request
//   nlohmann::ordered_json j = build_status(f);   // {"healthy": false, "problems": [...], ...}
//   std::fputs(render_status(j).c_str(), stdout);  // vigilctl
//
// Unhealthy means one of: the PDP is configured and its last call gave no
// usable answer, or every PDP endpoint's circuit is open; a posture signal
// is stale; the trail's last write failed; [sudo] approval = "plugin" while
// sudo.conf does not load vigil_sudo.so (every sudo is then refused at its
// session). The verdict is taken in vigild,
// so every client judges alike.
#ifndef VIGIL_TRAIL_STATUS_REPORT_H
#define VIGIL_TRAIL_STATUS_REPORT_H

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "health.h"
#include "log.h"
#include "signal.h"

namespace vigil {

struct StatusFacts {
    std::string version;  // vigild's build
    std::string config_path;
    std::string policy_version;  // the local policy's content hash
    std::chrono::seconds uptime{0};
    uint64_t answered = 0;
    std::string pdp_protocol;                                   // "local": no PDP
    std::vector<std::pair<std::string, std::string>> circuits;  // endpoint URL, breaker state
    struct PdpCalls {
        size_t made = 0;     // calls since the PDP was configured (start or reload)
        size_t batches = 0;  // of them, AuthZEN batches of more than one question
        size_t waiting = 0;  // questions queued now for a free call
    };
    std::optional<PdpCalls> pdp_calls;  // none: [pdp] batch is off, or no PDP
    HealthSnapshot health;
    posture::Snapshot signals;
    std::chrono::seconds default_max_age{60};
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now();
    size_t sessions = 0;
    size_t grants = 0;
    std::vector<LoggedProblem> recent_problems;
    std::string default_mode = "enforce";                            // [rollout] mode
    std::vector<std::pair<std::string, std::string>> service_modes;  // [rollout] services
    struct Sudo {
        std::string approval = "pam";  // [sudo] approval
        std::string sudo_conf;         // the file sudo reads
        bool plugin_loads = false;     // it loads vigil_sudo.so ...
        std::string plugin;            // ... this one
        std::string problem;           // or why it does not
    } sudo;
};

nlohmann::ordered_json build_status(const StatusFacts& f);
std::string render_status(const nlohmann::json& status);

}  // namespace vigil

#endif
