#include "rollout.h"

namespace vigil {

const char* to_string(Mode m) { return m == Mode::Report ? "report" : "enforce"; }

std::optional<Mode> parse_mode(std::string_view s) {
    if (s == "enforce") return Mode::Enforce;
    if (s == "report") return Mode::Report;
    return std::nullopt;
}

Mode RolloutSettings::mode_for(std::string_view service) const {
    if (service.empty()) return Mode::Enforce;
    for (const auto& [name, m] : services) {
        if (name == service) return m;
    }
    return mode;
}

}  // namespace vigil
