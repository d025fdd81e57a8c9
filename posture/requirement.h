// A rule's posture requirement, as written in vigil.toml:
//
//   require = ["systemd.unit.falcon-sensor.service == active",
//              "host.reboot_required == false",
//              "falcon.zta.overall >= 70"]
//
// A requirement holds when the signal exists, is younger than its max_age,
// and compares true (numerically when both sides are numbers). A missing
// or stale signal fails the requirement: posture nobody can vouch for is
// not posture. The signal's max_age is its collector's; a requirement can
// ask for fresher still ("falcon.zta.overall >= 70 within 2m": the config
// reader splits off the "within" part).
#ifndef VIGIL_POSTURE_REQUIREMENT_H
#define VIGIL_POSTURE_REQUIREMENT_H

#include <chrono>
#include <optional>
#include <string>

#include "signal.h"

namespace vigil::posture {

enum class Op { Eq, Ne, Ge, Le, Gt, Lt };

struct Requirement {
    std::string signal;
    Op op = Op::Eq;
    std::string value;
    std::string text;                            // as written, for messages
    std::optional<std::chrono::seconds> within;  // a tighter freshness bound than the signal's own
};

// std::nullopt with why set when text is not "NAME OP VALUE".
std::optional<Requirement> parse_requirement(const std::string& text, std::string& why);

// Empty when the requirement holds; otherwise a reason fit for the user and
// the trail, naming the signal ("signal X is missing", "X is inactive, needs == active").
// default_max_age applies to signals that carry none (Signal::max_age == 0).
std::string check_requirement(const Requirement& r, const Snapshot& snap, std::chrono::system_clock::time_point now,
                              std::chrono::seconds default_max_age);

}  // namespace vigil::posture

#endif
