// [rollout]: whether vigil enforces its decisions or only reports them, per
// PAM service, so a fleet can run it for a while and see whom it would have
// locked out before it locks anyone out:
//
//   [rollout]
//   mode = "report"                  # every service not listed
//   services = { sudo = "enforce" }  # enforce on sudo, report on sshd
//
// In report mode a request is decided exactly as in enforce mode and
// recorded with its would-be outcome ("would_deny", "would_step_up"); the
// module is told "pass" and leaves the verdict to the rest of the PAM stack.
#ifndef VIGIL_POLICY_ROLLOUT_H
#define VIGIL_POLICY_ROLLOUT_H

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vigil {

enum class Mode { Enforce, Report };

const char* to_string(Mode m);
// "enforce" | "report"; empty for anything else.
std::optional<Mode> parse_mode(std::string_view s);

struct RolloutSettings {
    Mode mode = Mode::Enforce;                           // for every service not listed
    std::vector<std::pair<std::string, Mode>> services;  // per PAM service, in file order

    // The mode for a request of this PAM service. A request whose service
    // is not known (a frame that could not be read) is always enforced.
    Mode mode_for(std::string_view service) const;
};

}  // namespace vigil

#endif
