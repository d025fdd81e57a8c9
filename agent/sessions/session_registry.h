// The live sessions vigild enforces limits on, kept in memory and on disk so
// a restart of vigild loses none of them (DESIGN.md §5).
//
//   auto reg = SessionRegistry::open(config.agent.state_dir);
//   if (!reg) { log_error("{}", reg.error().message); return 1; }
//   for (const LiveSession& s : (*reg)->load_report().ended_while_down) audit_ended(s);
//   auto added = (*reg)->add(session);     // at pam_open_session
//   ...
//   if (auto s = (*reg)->find_by_pid(pid)) (*reg)->remove(s->id);   // at pam_close_session
//
// Every change rewrites <state_dir>/sessions.json (versioned JSON, mode 0600)
// atomically and durably: temp file in the same directory, fsync, rename,
// fsync of the directory. The directory must be owned by root (or by the
// user running vigild, for tests) and writable by nobody else; no file in it
// is ever opened through a symbolic link.
//
// A session's process is named by pid *and* start time (/proc/<pid>/stat
// field 22), so a pid the kernel reused for another process is never taken
// for the session: such a session has ended.
//
// Time: deadlines are wall-clock (system_clock) because they must survive a
// restart and a reboot-free clock is the only one that does. The registry
// only stores them; noticing that they passed, and coping with a clock that
// jumped, is the caller's loop (compare against system_clock::now() on every
// tick, never sleep until a wall deadline).
//
// Thread-safe: one mutex guards the sessions and the file.
#ifndef VIGIL_SESSIONS_SESSION_REGISTRY_H
#define VIGIL_SESSIONS_SESSION_REGISTRY_H

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "request.h"
#include "result.h"
#include "unique_fd.h"

namespace vigil {

// What /proc/<pid>/stat says about one process.
struct ProcStat {
    pid_t pid = 0;
    char state = '?';  // R, S, D, Z, ...
    pid_t ppid = 0;
    pid_t session = 0;        // the session leader's pid
    int tty_nr = 0;           // the controlling terminal's device number; 0: none
    unsigned flags = 0;       // PF_* flags
    uint64_t start_time = 0;  // clock ticks after boot: with pid, names one process for good

    bool kernel_thread() const;
    bool zombie() const { return state == 'Z' || state == 'X'; }
};

// Empty when the process does not exist (or /proc cannot be read).
std::optional<ProcStat> read_proc_stat(pid_t pid);

// Is pid still the process that had start_time (and not a zombie)?
bool same_process_alive(pid_t pid, uint64_t start_time);

// Limits carried by a session; empty means "no such limit".
struct SessionLimits {
    std::optional<std::chrono::system_clock::time_point> max_until;  // absolute end
    std::optional<std::chrono::seconds> idle_max;
    std::optional<std::chrono::seconds> warn_before;  // lead time of the tty warning
    std::optional<std::chrono::seconds> reevaluate_every;
};

struct LiveSession {
    std::string id;  // 32 hex digits; add() assigns one when empty
    std::string user;
    std::string service;
    std::string pam_user;  // sudo, su: the account PAM_USER named (RecentDecision::pam_user)
    std::string tty;       // PAM_TTY as given ("ssh" for sshd)
    std::string rhost;
    // The process that called pam_open_session: sshd's privileged
    // per-connection process, or sudo itself.
    pid_t pid = 0;
    uint64_t start_time = 0;  // of pid; add() reads it when 0
    std::optional<std::string> xdg_session_id;
    std::string decision_id;  // the account decision that let the session in
    std::chrono::system_clock::time_point opened_at{};
    SessionLimits limits;
    std::optional<std::chrono::system_clock::time_point> next_reevaluation;
    bool warned = false;                 // the expiry warning was shown
    std::vector<std::string> grant_ids;  // JIT grants the session depends on
    // JIT grants bound to the session (vigilctl grant request --bind): they
    // end when it does, whatever their own expiry says.
    std::vector<std::string> bound_grants;
    // The second factor and the justification the login gave: re-decisions
    // carry them to the rules and the PDP, as the login's decision had them.
    std::optional<StepUpProof> mfa;
    std::string purpose;
    // sudo with its approval plugin: the command the session runs, as the
    // plugin's decision had it; re-decisions ask about it again.
    std::vector<std::string> command;
    std::optional<SudoCommand> sudo;
    // sshd: the login's SSH_AUTH_INFO_0, for re-decisions (RecentDecision).
    std::string ssh_auth_info;
    // The cgroup that holds the session's processes (session_scope.h): its
    // logind scope, or the scope vigild put it in; empty for sudo and su,
    // which live in their caller's, and where systemd is not PID 1.
    std::string scope;
};

// The fields update() may change; an empty one is left as it is.
struct SessionUpdate {
    std::optional<std::chrono::system_clock::time_point> next_reevaluation;
    std::optional<bool> warned;
    std::optional<SessionLimits> limits;  // a re-evaluation may tighten them
    std::optional<std::vector<std::string>> grant_ids;
    std::optional<std::vector<std::string>> bound_grants;
};

// What a change did. The change is live in memory even when `saved` is an
// error: limits must go on being enforced when the disk is full. The error
// says the change would not survive a restart; audit it.
struct SessionChange {
    std::optional<LiveSession> session;  // the record after the change; empty: no such session
    Status saved = Ok{};
};

// What reap_ended() removed; `saved` as in SessionChange.
struct SessionReap {
    std::vector<LiveSession> ended;
    Status saved = Ok{};
};

// What open() found on disk, for the caller to audit.
struct SessionLoadReport {
    size_t loaded = 0;                          // sessions still live and kept
    std::vector<LiveSession> ended_while_down;  // process gone or pid reused
    // A sessions.json that could not be read (moved to sessions.json.corrupt),
    // or a failure to rewrite the file after dropping ended sessions.
    std::optional<Error> problem;
};

class SessionRegistry {
public:
    static constexpr const char* kFileName = "sessions.json";
    static constexpr int kFormatVersion = 1;

    // Checks state_dir (creating it 0700 if missing) and loads sessions.json.
    // Fails only for an unsafe or unusable directory, or a sessions.json that
    // is a symlink, not a regular file, or writable by others; a file that
    // does not parse is set aside and the registry starts empty.
    static Result<std::unique_ptr<SessionRegistry>> open(const std::string& state_dir);

    SessionRegistry(const SessionRegistry&) = delete;
    SessionRegistry& operator=(const SessionRegistry&) = delete;

    const SessionLoadReport& load_report() const { return report_; }

    // Files s, assigning id and start_time when empty. Fails, storing
    // nothing, when s.pid is not a live process (or no longer the one with
    // s.start_time) or the id is taken.
    Result<SessionChange> add(LiveSession s);
    SessionChange remove(const std::string& id);
    SessionChange update(const std::string& id, const SessionUpdate& u);

    std::optional<LiveSession> find(const std::string& id) const;
    // The newest session whose process is pid and still alive with the
    // recorded start time (a stale record for a reused pid never matches).
    std::optional<LiveSession> find_by_pid(pid_t pid) const;
    std::vector<LiveSession> list() const;
    // The session pid runs in: the nearest ancestor of pid (or pid itself)
    // that is a live session's process. A shell in an ssh session finds the
    // session of its sshd.
    std::optional<LiveSession> find_enclosing(pid_t pid) const;

    // Removes and returns the sessions whose process is gone or was
    // replaced; for the caller's loop (a session can end without
    // pam_close_session, e.g. when sshd is killed).
    SessionReap reap_ended();

private:
    SessionRegistry(std::string dir, UniqueFd dirfd);
    void load(const std::string& text);
    void set_aside_corrupt(const Error& why);
    Status save_locked();
    std::vector<LiveSession> reap_locked();

    std::string dir_;
    UniqueFd dirfd_;
    SessionLoadReport report_;
    mutable std::mutex mu_;
    std::map<std::string, LiveSession> sessions_;  // by id
};

// Creates the state directory if it is missing, mode 0711 whatever the umask
// (vigild.service's is 0077): libnss_vigil.so.2 in every user's processes
// reads the grant table in it by name. Nothing in it can be listed, and what
// is secret has its own mode (sessions.json 0600, totp/ 0700).
[[nodiscard]] Status make_state_dir(const std::string& dir);

}  // namespace vigil

#endif
