#include "request_codec.h"

#include <fmt/format.h>

#include <bitset>

#include "rule.h"

namespace vigil {
namespace {

constexpr size_t kMaxName = 256;   // user, service, tty, ruser
constexpr size_t kMaxHost = 1025;  // NI_MAXHOST
constexpr size_t kMaxPath = 4096;  // PATH_MAX

bool printable(std::string_view s) {
    for (unsigned char c : s) {
        if (c < 0x20 || c == 0x7f) return false;
    }
    return true;
}

Status name_field(std::string_view v, size_t max, const char* what, std::string& out) {
    if (v.size() > max) return err(fmt::format("{} longer than {} bytes", what, max));
    if (!printable(v)) return err(fmt::format("{} holds control characters", what));
    out = v;
    return Ok{};
}

// ppid may be 0: a caller whose parent lives in another pid namespace
// (docker exec, nsenter) sees getppid() == 0.
Status pid_field(std::string_view v, const char* what, pid_t& out, bool zero_ok = false) {
    uint64_t n = 0;
    if (!wire::parse_decimal(v, 4194304, n) || (n == 0 && !zero_ok)) return err(fmt::format("{} is not a pid", what));
    out = static_cast<pid_t>(n);
    return Ok{};
}

Status budget_field(std::string_view v, std::chrono::milliseconds& out) {
    uint64_t n = 0;
    if (!wire::parse_decimal(v, 600000, n) || n == 0) return err("budget is not a number of milliseconds");
    out = std::chrono::milliseconds(n);
    return Ok{};
}

// A monotonic clock reading in ms; the bound keeps it convertible to
// steady_clock's nanoseconds (285 years of uptime). timing_of decides
// whether it is usable.
constexpr uint64_t kMaxStampMs = 9'000'000'000'000;
Status stamp_field(std::string_view v) {
    uint64_t n = 0;
    if (!wire::parse_decimal(v, kMaxStampMs, n)) return err("asked_at is not a number of milliseconds");
    return Ok{};
}

std::vector<std::string> split_argv(std::string_view v) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= v.size()) {
        size_t nul = v.find('\0', start);
        if (nul == std::string_view::npos) nul = v.size();
        out.emplace_back(v.substr(start, nul - start));
        start = nul + 1;
    }
    return out;
}

Status uid_field(std::string_view v, const char* what, std::optional<uid_t>& out) {
    uint64_t n = 0;
    if (!wire::parse_decimal(v, 4294967294u, n)) return err(fmt::format("{} is not a uid or gid", what));
    out = static_cast<uid_t>(n);
    return Ok{};
}

// The tags only vigil_sudo.so sends (SudoCommand), into q.sudo.
Status apply_sudo_field(wire::Tag tag, std::string_view v, Request& q) {
    if (!q.sudo) q.sudo.emplace();
    SudoCommand& c = *q.sudo;
    switch (tag) {
        case wire::Tag::CommandPath:
            if (v.empty() || v[0] != '/') return err("command_path is not an absolute path");
            return name_field(v, kMaxPath, "command_path", c.path);
        case wire::Tag::RunasUser: return name_field(v, kMaxName, "runas_user", c.runas_user);
        case wire::Tag::RunasUid: return uid_field(v, "runas_uid", c.runas_uid);
        case wire::Tag::RunasGroup: return name_field(v, kMaxName, "runas_group", c.runas_group);
        case wire::Tag::RunasGid: {
            std::optional<uid_t> g;
            if (auto s = uid_field(v, "runas_gid", g); !s) return s;
            c.runas_gid = static_cast<gid_t>(*g);
            return Ok{};
        }
        case wire::Tag::Cwd: return name_field(v, kMaxPath, "cwd", c.cwd);
        case wire::Tag::Sudoedit: {
            uint64_t n = 0;
            if (!wire::parse_decimal(v, 65536, n) || n == 0) return err("sudoedit is not a number of files");
            c.sudoedit_files = static_cast<size_t>(n);
            return Ok{};
        }
        default: return Ok{};
    }
}

Status apply_field(wire::Tag tag, std::string_view v, Request& q) {
    switch (tag) {
        case wire::Tag::CommandPath:
        case wire::Tag::RunasUser:
        case wire::Tag::RunasUid:
        case wire::Tag::RunasGroup:
        case wire::Tag::RunasGid:
        case wire::Tag::Cwd:
        case wire::Tag::Sudoedit:
            if (q.phase != Phase::Command) return Ok{};  // only the plugin's frame says what sudo resolved
            return apply_sudo_field(tag, v, q);
        case wire::Tag::Phase: return Ok{};  // the frame kind is authoritative
        case wire::Tag::User: return name_field(v, kMaxName, "user", q.user);
        case wire::Tag::Service: return name_field(v, kMaxName, "service", q.service);
        case wire::Tag::Rhost: return name_field(v, kMaxHost, "rhost", q.rhost);
        case wire::Tag::Tty: return name_field(v, kMaxName, "tty", q.tty);
        case wire::Tag::Ruser: return name_field(v, kMaxName, "ruser", q.ruser);
        case wire::Tag::Pid: return pid_field(v, "pid", q.pid);
        case wire::Tag::Ppid: return pid_field(v, "ppid", q.ppid, true);
        case wire::Tag::SshAuthInfo: q.ssh_auth_info = v; return Ok{};
        case wire::Tag::XdgSessionId: return name_field(v, kMaxName, "xdg_session_id", q.xdg_session_id);
        case wire::Tag::Command: q.command = split_argv(v); return Ok{};
        case wire::Tag::AfterAuth:
            if (v != "1") return err("after_auth is not \"1\"");
            q.after_auth = true;
            return Ok{};
        case wire::Tag::ArgvTruncated:
            if (v != "1") return err("argv_truncated is not \"1\"");
            q.argv_truncated = true;
            return Ok{};
        case wire::Tag::BudgetMs: return budget_field(v, q.budget);
        case wire::Tag::AskedAtMs: return stamp_field(v);  // used as the frame's arrival (timing_of)
        default: return Ok{};                              // optional fields from a newer module
    }
}

}  // namespace

Phase phase_of(wire::Kind kind) {
    switch (kind) {
        case wire::Kind::Auth:
        case wire::Kind::StepUpAnswer: return Phase::Auth;
        case wire::Kind::OpenSession: return Phase::OpenSession;
        case wire::Kind::CloseSession: return Phase::CloseSession;
        case wire::Kind::SudoCommand: return Phase::Command;
        default: return Phase::Account;
    }
}

Result<Request> decode_pam_request(wire::Kind kind, const std::vector<uint8_t>& payload) {
    Request q;
    q.phase = phase_of(kind);
    wire::Reader reader(payload.data(), payload.size());
    wire::Tag tag{};
    std::string_view value;
    std::bitset<64> seen;
    while (reader.next(tag, value)) {
        auto t = static_cast<uint16_t>(tag);
        if (t < seen.size()) {
            if (seen[t]) return err(fmt::format("field {} appears twice", t));
            seen[t] = true;
        }
        if (auto s = apply_field(tag, value, q); !s) return s.error();
    }
    if (reader.malformed()) return err("truncated field");
    if (q.user.empty()) return err("no user");
    if (q.service.empty()) return err("no service");
    if (q.phase == Phase::Command) {
        if (!q.sudo || q.sudo->path.empty()) return err("a sudo command without its path");
        if (q.command.empty()) return err("a sudo command without its argv");
        if (q.sudo->sudoedit_files >= q.command.size()) return err("sudoedit names more files than its argv holds");
        if (!is_sudo_service(q.service)) return err("a sudo command for another service");
    }
    return q;
}

std::vector<uint8_t> encode_pam_answer(wire::Kind kind, const DecisionRecord& r) {
    // Report mode: recorded as decided; the module is told only to pass,
    // so the person sees nothing and no limit is set.
    if (r.report)
        return *build_frame(wire::answer_to(kind),
                            {{wire::Tag::Outcome, wire::kOutcomePass}, {wire::Tag::RequestId, r.request_id}});
    std::string session_max;
    if (r.decision.session_max) session_max = std::to_string(r.decision.session_max->count());
    std::vector<std::pair<wire::Tag, std::string_view>> fields = {
        {wire::Tag::Outcome, to_string(r.decision.outcome)},
        {wire::Tag::RequestId, r.request_id},
    };
    if (!r.decision.reason_user.empty()) fields.emplace_back(wire::Tag::ReasonUser, r.decision.reason_user);
    if (!session_max.empty()) fields.emplace_back(wire::Tag::SessionMaxSeconds, session_max);
    auto frame = build_frame(wire::answer_to(kind), fields);
    // Only an absurdly long reason can overflow; answer without it rather than not at all.
    if (!frame) return *build_frame(wire::answer_to(kind), {fields[0], fields[1]});
    return *frame;
}

Result<StepUpAnswerFrame> decode_step_up_answer(const std::vector<uint8_t>& payload) {
    StepUpAnswerFrame a;
    wire::Reader reader(payload.data(), payload.size());
    wire::Tag tag{};
    std::string_view value;
    bool have_id = false, have_response = false;
    while (reader.next(tag, value)) {
        switch (tag) {
            case wire::Tag::ChallengeId:
                if (have_id || value.empty() || value.size() > 64) return err("bad or repeated challenge id");
                a.challenge_id = value, have_id = true;
                break;
            case wire::Tag::Response:
                if (have_response || value.size() > 1024) return err("bad or repeated step-up response");
                a.response = value, have_response = true;
                break;
            case wire::Tag::BudgetMs:
                if (auto s = budget_field(value, a.budget); !s) return s.error();
                break;
            default: break;
        }
    }
    if (reader.malformed()) return err("truncated field");
    if (!have_id || !have_response) return err("a step-up answer needs a challenge id and a response");
    return a;
}

std::vector<uint8_t> encode_challenge(wire::Kind kind, const StepUpPrompt& p) {
    std::vector<std::pair<wire::Tag, std::string_view>> fields = {
        {wire::Tag::Outcome, wire::kOutcomeChallenge},
        {wire::Tag::ChallengeId, p.challenge_id},
        {wire::Tag::Prompt, p.prompt},
        {wire::Tag::Echo, p.echo ? "on" : "off"},
    };
    if (!p.info.empty()) fields.emplace_back(wire::Tag::Info, p.info);
    auto frame = build_frame(wire::answer_to(kind), fields);
    if (!frame) return *build_frame(wire::answer_to(kind), {fields[0], fields[1], fields[2], fields[3]});
    return *frame;
}

ModuleTiming timing_of(const Frame& f, std::chrono::steady_clock::time_point accepted) {
    ModuleTiming t{accepted, std::chrono::milliseconds(wire::kDefaultClientTimeoutMs)};
    std::optional<uint64_t> stamp;
    wire::Reader r(f.payload.data(), f.payload.size());
    wire::Tag tag{};
    std::string_view v;
    while (r.next(tag, v)) {
        uint64_t n = 0;
        if (tag == wire::Tag::BudgetMs) (void)budget_field(v, t.budget);
        if (tag == wire::Tag::AskedAtMs && wire::parse_decimal(v, kMaxStampMs, n)) stamp = n;
    }
    if (!stamp) return t;
    // steady_clock reads CLOCK_MONOTONIC. A stamp after the accept, or
    // further back than the whole budget, is not this boot's clock as vigild
    // sees it (another time namespace): the accept time stands in.
    auto asked = std::chrono::steady_clock::time_point(std::chrono::milliseconds(static_cast<int64_t>(*stamp)));
    if (asked <= accepted && accepted - asked <= t.budget) t.asked = asked;
    return t;
}

std::vector<uint8_t> encode_busy_answer(wire::Kind kind) {
    return *build_frame(wire::answer_to(kind), {{wire::Tag::Outcome, wire::kOutcomeDeny},
                                                {wire::Tag::ReasonUser, "access check busy, try again in a moment"}});
}

std::vector<uint8_t> refusal_to(uint16_t kind, std::string_view why) {
    std::string reason = fmt::format("access denied: vigil cannot check this request ({})", why);
    auto answer = static_cast<wire::Kind>(kind | wire::kAnswerBit);
    return *build_frame(answer, {{wire::Tag::Outcome, wire::kOutcomeDeny}, {wire::Tag::ReasonUser, reason}});
}

}  // namespace vigil
