// The wire protocol between pam_vigil.so (and vigilctl) and vigild.
//
// This is the only code shared across the module/agent boundary. It must stay
// usable inside sshd and sudo: libc only, no allocation, no exceptions, no
// globals with constructors. Both ends include it, so a change here changes
// both; bump kVersion when a frame's meaning changes.
//
// A frame is a 12-byte header followed by a payload of tagged fields:
//
//   header : magic u32 | version u16 | kind u16 | payload length u32   (big endian)
//   field  : tag u16 | length u16 | bytes                              (big endian)
//
// Every value is bytes (text, or a decimal integer as text). Unknown tags are
// skipped so either side can add optional fields; a truncated or oversized
// frame is an error, never a partial read.
//
//   uint8_t buf[vigil::wire::kMaxFrame];
//   vigil::wire::Writer w(buf, sizeof buf);
//   w.put(vigil::wire::Tag::User, "alice");
//   size_t n = w.finish(vigil::wire::Kind::Account);   // 0 if it did not fit
#ifndef VIGIL_WIRE_PROTOCOL_H
#define VIGIL_WIRE_PROTOCOL_H

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "decimal.h"

namespace vigil::wire {

inline constexpr uint32_t kMagic = 0x56474c31;  // "VGL1"
inline constexpr uint16_t kVersion = 1;
inline constexpr size_t kHeaderSize = 12;
inline constexpr size_t kFieldHeaderSize = 4;
// Large enough for SSH_AUTH_INFO_0 with an RSA-4096 certificate and a long
// sudo command line; small enough that a hostile peer cannot make us allocate.
inline constexpr size_t kMaxFrame = 32 * 1024;
inline constexpr size_t kMaxPayload = kMaxFrame - kHeaderSize;
// The module's whole exchange (connect, send, receive) must end within this
// unless the PAM line says timeout=MS.
inline constexpr int kDefaultClientTimeoutMs = 3000;
inline constexpr const char* kDefaultPamSocket = "/run/vigil/pam.sock";
inline constexpr const char* kDefaultAdminSocket = "/run/vigil/admin.sock";

// Every request kind the agent answers. Anything else closes the connection.
// Requests are < 0x80; the agent's answer to request k is k | 0x80.
enum class Kind : uint16_t {
    // One kind per PAM phase, named as the phase (kPhase* below).
    Account = 0x01,        // account phase: the decision for this request
    Auth = 0x02,           // auth phase: decide, and say whether a step-up is due
    OpenSession = 0x03,    // open_session: a session starts under a decision
    CloseSession = 0x04,   // close_session: that session ended
    StepUpAnswer = 0x05,   // auth phase: what the person typed at a challenge
    GrantRequest = 0x06,   // vigilctl grant request, from any local user (grant socket only)
    BreakGlass = 0x07,     // never sent: a break-glass use the module spooled to a file (break_glass.h)
    SudoCommand = 0x08,    // vigil_sudo.so (sudo's approval plugin): may this exact command run
    AdminDecide = 0x41,    // vigilctl decide: dry run through the same engine
    AdminPing = 0x42,      // vigilctl ping: is the agent alive
    AdminPosture = 0x43,   // vigilctl posture: the current signals
    AdminSessions = 0x44,  // vigilctl sessions: the live sessions and their limits
    AdminRevoke = 0x45,    // vigilctl revoke: end a session, or every session of a user
    AdminGrants = 0x46,    // vigilctl grant list: the live just-in-time grants
    AdminStatus = 0x47,    // vigilctl status: health (PDP, posture, sessions, grants, recent errors)
};
inline constexpr uint16_t kAnswerBit = 0x80;
constexpr Kind answer_to(Kind k) { return static_cast<Kind>(static_cast<uint16_t>(k) | kAnswerBit); }

enum class Tag : uint16_t {
    // request facts, from the module
    Phase = 1,           // one of the kPhase words below
    User = 2,            // PAM_USER
    Service = 3,         // PAM_SERVICE
    Rhost = 4,           // PAM_RHOST
    Tty = 5,             // PAM_TTY
    Ruser = 6,           // PAM_RUSER
    Pid = 7,             // the calling process (sshd monitor, sudo)
    Ppid = 8,            // its parent
    SshAuthInfo = 9,     // SSH_AUTH_INFO_0
    Command = 10,        // sudo's argv, NUL-separated
    XdgSessionId = 11,   // XDG_SESSION_ID when pam_systemd ran first
    RequestId = 12,      // the decision a session registers under
    Json = 13,           // admin frames: a JSON document
    BudgetMs = 14,       // the module's whole deadline (timeout=MS): bounds the PDP call
    ChallengeId = 15,    // StepUpAnswer: the challenge answered (also in a "challenge" answer)
    Response = 16,       // StepUpAnswer: what the person typed (a code, a reason, "" for Enter)
    ArgvTruncated = 17,  // "1": Command holds only the start of sudo's argv
    AfterAuth = 18,      // "1": auth phase, the PAM line says modules before it authenticated the user
    At = 19,             // BreakGlass: when, in seconds since the epoch
    Group = 20,          // BreakGlass: the break-glass group the user is in
    AskedAtMs = 21,      // the module's CLOCK_MONOTONIC (ms) as it began to ask: its budget runs from there
    // SudoCommand: what sudo's policy plugin resolved (command_info), beside
    // Command (the exact run_argv) and Ruser (the invoking user)
    CommandPath = 22,  // the executable sudo runs, fully qualified
    RunasUser = 23,    // the user it runs as (name)
    RunasUid = 24,     // and that user's uid, which sudo really uses
    RunasGroup = 25,   // the group it runs as, when sudo names one
    RunasGid = 26,
    Cwd = 27,       // the directory it runs in
    Sudoedit = 28,  // sudoedit: how many files it edits, which are Command's last arguments
    // answer, from the agent
    // one of the kOutcome words below
    Outcome = 32,
    ReasonUser = 33,  // safe to show the user
    SessionMaxSeconds = 34,
    Error = 35,   // why the agent could not answer the request
    Prompt = 36,  // challenge: the question ("Authenticator code: ")
    Echo = 37,    // challenge: "on" to show what is typed (a reason), else hidden (a code)
    Info = 38,    // challenge: text to show first (where to approve, a QR code, "wrong code")
};

// The words of Tag::Phase, PAM's names for its phases; vigild's
// to_string(Phase) returns them, so the trail, the metrics, the PDP request
// and the module spell them the same. The frame's Kind is authoritative.
// (C strings: the module also hands them to pam_syslog.)
inline constexpr char kPhaseAccount[] = "account";
inline constexpr char kPhaseAuth[] = "auth";
inline constexpr char kPhaseOpenSession[] = "open_session";
inline constexpr char kPhaseCloseSession[] = "close_session";
// Not a PAM phase: sudo's approval plugin asking about one command.
inline constexpr char kPhaseCommand[] = "command";

// The words of Tag::Outcome; vigild's to_string(Outcome) returns the first
// three, so the trail, the metrics and the module spell them the same.
inline constexpr std::string_view kOutcomeAllow = "allow";
inline constexpr std::string_view kOutcomeDeny = "deny";
// A second factor or a reason is wanted: sshd's auth phase gets a
// "challenge" instead, elsewhere the module refuses (nothing to ask through).
inline constexpr std::string_view kOutcomeStepUp = "step_up";
// In the auth phase: show Info, ask Prompt (echoed if Echo is "on"), and send
// the reply as a StepUpAnswer with the ChallengeId.
inline constexpr std::string_view kOutcomeChallenge = "challenge";
// The agent decided in report mode ([rollout]): it enforces nothing, so the
// module says nothing and returns PAM_IGNORE, leaving the verdict to the
// rest of the stack.
inline constexpr std::string_view kOutcomePass = "pass";

inline void put_be16(uint8_t* p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}
inline void put_be32(uint8_t* p, uint32_t v) {
    put_be16(p, static_cast<uint16_t>(v >> 16));
    put_be16(p + 2, static_cast<uint16_t>(v));
}
inline uint16_t get_be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t get_be32(const uint8_t* p) { return static_cast<uint32_t>(get_be16(p)) << 16 | get_be16(p + 2); }

// Builds one frame in a caller-owned buffer. A put that does not fit marks the
// writer failed; finish() then returns 0 so no partial frame is ever sent.
class Writer {
public:
    Writer(uint8_t* buf, size_t cap) : buf_(buf), cap_(cap < kMaxFrame ? cap : kMaxFrame) {
        len_ = kHeaderSize;
        failed_ = cap_ < kHeaderSize;
    }
    void put(Tag tag, std::string_view value) {
        if (failed_) return;
        if (value.size() > 0xffff || cap_ - len_ < kFieldHeaderSize + value.size()) {
            failed_ = true;
            return;
        }
        put_be16(buf_ + len_, static_cast<uint16_t>(tag));
        put_be16(buf_ + len_ + 2, static_cast<uint16_t>(value.size()));
        if (!value.empty()) std::memcpy(buf_ + len_ + kFieldHeaderSize, value.data(), value.size());
        len_ += kFieldHeaderSize + value.size();
    }
    void put_u64(Tag tag, uint64_t v) {
        char digits[21];
        put(tag, format_decimal(v, digits));
    }
    // Returns the frame's total size, or 0 if anything did not fit.
    size_t finish(Kind kind) {
        if (failed_) return 0;
        put_be32(buf_, kMagic);
        put_be16(buf_ + 4, kVersion);
        put_be16(buf_ + 6, static_cast<uint16_t>(kind));
        put_be32(buf_ + 8, static_cast<uint32_t>(len_ - kHeaderSize));
        return len_;
    }
    bool failed() const { return failed_; }

private:
    uint8_t* buf_;
    size_t cap_;
    size_t len_;
    bool failed_;
};

enum class HeaderStatus { Ok, BadMagic, BadVersion, TooLarge };

struct Header {
    uint16_t kind = 0;
    uint32_t length = 0;
};

// Checks the first kHeaderSize bytes of a frame before its payload is read.
inline HeaderStatus parse_header(const uint8_t* p, Header& out) {
    if (get_be32(p) != kMagic) return HeaderStatus::BadMagic;
    if (get_be16(p + 4) != kVersion) return HeaderStatus::BadVersion;
    out.kind = get_be16(p + 6);
    out.length = get_be32(p + 8);
    if (out.length > kMaxPayload) return HeaderStatus::TooLarge;
    return HeaderStatus::Ok;
}

inline const char* describe(HeaderStatus s) {
    switch (s) {
        case HeaderStatus::Ok: return "ok";
        case HeaderStatus::BadMagic: return "not a vigil frame (bad magic)";
        case HeaderStatus::BadVersion: return "protocol version mismatch";
        case HeaderStatus::TooLarge: return "frame larger than the protocol allows";
    }
    return "unknown header status";
}

// Walks the fields of a payload. next() returns false at the end or on a
// malformed field; truncated() tells the two apart.
class Reader {
public:
    Reader(const uint8_t* payload, size_t len) : p_(payload), len_(len) {}
    bool next(Tag& tag, std::string_view& value) {
        if (pos_ == len_) return false;
        if (len_ - pos_ < kFieldHeaderSize) return fail();
        uint16_t t = get_be16(p_ + pos_);
        size_t n = get_be16(p_ + pos_ + 2);
        if (len_ - pos_ - kFieldHeaderSize < n) return fail();
        tag = static_cast<Tag>(t);
        value = std::string_view(reinterpret_cast<const char*>(p_ + pos_ + kFieldHeaderSize), n);
        pos_ += kFieldHeaderSize + n;
        return true;
    }
    bool malformed() const { return malformed_; }

private:
    bool fail() {
        malformed_ = true;
        return false;
    }
    const uint8_t* p_;
    size_t len_;
    size_t pos_ = 0;
    bool malformed_ = false;
};

}  // namespace vigil::wire

#endif
