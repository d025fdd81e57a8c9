#include "signal_group.h"

#include <fmt/ranges.h>

#include <chrono>

#include "log.h"

namespace vigil::posture {

std::string check_signal_value(const std::string& value) {
    if (value.size() > kMaxSignalValue) {
        return fmt::format("value is longer than {} bytes", kMaxSignalValue);
    }
    for (unsigned char c : value) {
        if (c < 0x20 || c == 0x7f) return "value contains control characters";
    }
    return "";
}

SignalGroup::SignalGroup(SignalStore& store, std::string source, std::string label, std::chrono::seconds max_age)
    : store_(store), source_(std::move(source)), label_(std::move(label)), max_age_(max_age) {}

void SignalGroup::publish(const Reading& r) {
    auto now = std::chrono::system_clock::now();
    std::vector<std::string> problems = r.problems;
    SignalValues accepted;
    for (const auto& [name, value] : r.values) {
        if (std::string why = check_signal_value(value); !why.empty()) {
            problems.push_back(name + ": " + why);
            continue;
        }
        accepted[name] = value;
    }
    forget_all_but(accepted);
    for (const auto& [name, value] : accepted) {
        store_.update({name, value, source_, now, max_age_, r.ticking.count(name) > 0});
        published_.insert(name);
    }
    report_health(fmt::format("{}", fmt::join(problems, "; ")));
}

void SignalGroup::fail(const std::string& why, const SignalValues& still_known) {
    forget_all_but(still_known);
    auto now = std::chrono::system_clock::now();
    for (const auto& [name, value] : still_known) {
        store_.update({name, value, source_, now, max_age_});
        published_.insert(name);
    }
    // A failure must never read as healthy in the log.
    report_health(why.empty() ? "failed" : why);
}

void SignalGroup::forget_all_but(const SignalValues& keep) {
    for (auto it = published_.begin(); it != published_.end();) {
        if (keep.count(*it)) {
            ++it;
            continue;
        }
        store_.forget(*it);
        it = published_.erase(it);
    }
}

namespace {

// Problems quote what sources sent; the log gets them printable and short.
std::string loggable(const std::string& text) {
    constexpr size_t kMaxLogged = 512;
    std::string out = text.substr(0, kMaxLogged);
    for (char& c : out) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    }
    if (text.size() > kMaxLogged) out += "...";
    return out;
}

}  // namespace

// The log says what changed, once: a socket that stays absent for a day
// writes one line, not one per interval.
void SignalGroup::report_health(const std::string& problem) {
    if (state_ && *state_ == problem) return;
    bool first = !state_;
    state_ = problem;
    if (!problem.empty()) {
        log_warn("{}: {}", label_, loggable(problem));
    } else {
        log_info("{}: {}", label_, first ? "reading" : "reading again");
    }
}

}  // namespace vigil::posture
