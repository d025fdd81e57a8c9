#include "requirement.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <utility>

namespace vigil::posture {
namespace {

constexpr std::array<std::pair<const char*, Op>, 6> kOps = {
    {{"==", Op::Eq}, {"!=", Op::Ne}, {">=", Op::Ge}, {"<=", Op::Le}, {">", Op::Gt}, {"<", Op::Lt}}};

const char* symbol(Op op) {
    for (const auto& [sym, o] : kOps) {
        if (o == op) return sym;
    }
    return "?";
}

std::string trim(const std::string& s) {
    size_t b = s.find_first_not_of(" \t");
    size_t e = s.find_last_not_of(" \t");
    return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::optional<double> number(const std::string& s) {
    if (s.empty()) return std::nullopt;
    char* end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    if (end != s.c_str() + s.size()) return std::nullopt;
    return v;
}

template <class T>
bool compare(const T& a, Op op, const T& b) {
    switch (op) {
        case Op::Eq: return a == b;
        case Op::Ne: return a != b;
        case Op::Ge: return a >= b;
        case Op::Le: return a <= b;
        case Op::Gt: return a > b;
        case Op::Lt: return a < b;
    }
    return false;
}

bool holds(const std::string& actual, Op op, const std::string& wanted) {
    auto a = number(actual), w = number(wanted);
    if (a && w) return compare(*a, op, *w);
    if (op != Op::Eq && op != Op::Ne) return false;  // no order between words
    return compare(actual, op, wanted);
}

}  // namespace

std::optional<Requirement> parse_requirement(const std::string& text, std::string& why) {
    for (const auto& [sym, op] : kOps) {
        size_t at = text.find(sym);
        if (at == std::string::npos) continue;
        Requirement r{trim(text.substr(0, at)), op, trim(text.substr(at + std::string(sym).size())), text,
                      std::nullopt};
        if (r.signal.empty() || r.value.empty() || r.signal.find(' ') != std::string::npos) break;
        return r;
    }
    why =
        "want \"SIGNAL OP VALUE\" with OP one of == != >= <= > <, e.g. "
        "\"systemd.unit.auditd.service == active\"";
    return std::nullopt;
}

std::string check_requirement(const Requirement& r, const Snapshot& snap, std::chrono::system_clock::time_point now,
                              std::chrono::seconds default_max_age) {
    for (const Signal& s : snap) {
        if (s.name != r.signal) continue;
        std::chrono::seconds max_age = s.max_age.count() > 0 ? s.max_age : default_max_age;
        if (r.within) max_age = std::min(max_age, *r.within);
        if (now - s.observed_at > max_age) {
            return "posture signal " + r.signal + " is stale (older than " + std::to_string(max_age.count()) + "s)";
        }
        if (holds(s.value, r.op, r.value)) return "";
        return "posture signal " + r.signal + " is " + (s.value.empty() ? "empty" : s.value) + ", needs " +
               symbol(r.op) + " " + r.value;
    }
    return "posture signal " + r.signal + " is missing";
}

}  // namespace vigil::posture
