// Ends live sessions (a limit expired, a re-evaluation said deny, a grant
// lapsed) and warns their users first (DESIGN.md §5).
//
//   SessionTerminator term;   // one per vigild; owns one worker thread
//   if (auto tty = session_tty(s.pid)) warn_tty(*tty, "your session ends in 2 minutes");
//   term.end(s, "session_max 8h reached", [&](TerminationResult r) {
//       audit(s.id, r.summary);   // "SIGHUP→SIGTERM, 2 processes"
//       registry.remove(s.id);
//   });
//
// How a session ends:
//  1. When it carries an xdg_session_id, its process still lives and
//     logind places that process in that very session, logind is asked to
//     TerminateSession over the system bus; logind stops the whole scope.
//     If the process tree is still there one grace later, step 3 follows.
//  2. Otherwise (no id, no bus, logind refused) SIGHUP, as a hangup of the
//     terminal would: shells and sshd end cleanly on it.
//  3. One grace later SIGTERM to whatever is left, then SIGKILL after another.
// Each step signals the session process and every descendant found so far,
// and, when the session has a scope (LiveSession::scope, its logind scope
// or the one vigild put it in), every process in that scope, through PID 1
// (KillUnit): a process that left the tree with setsid and a double fork
// is still in the scope. Before SIGKILL the scope is frozen where the
// cgroup freezer works, so nothing in it forks in between. The session is
// over when neither its tree nor its scope holds a process.
// The tree is re-read from /proc at each step and remembered, so a child
// orphaned when its parent died is still followed. A signal goes through a
// pidfd opened and checked against the recorded start time first, so a
// reused pid is never hit; pid 1, vigild itself and kernel threads never are.
//
// Non-blocking: end() queues the escalation and returns. One worker thread
// advances all escalations, waking at each step's deadline and every 50 ms
// in between to finish early once every process is gone; `done` runs on that
// thread once the session is over (or SIGKILL was sent and waited for). The
// caller's loop has nothing to drive. Destroying the terminator stops the
// worker at once and abandons escalations still running without calling
// their `done`: keep the session in the registry until `done` reports, so a
// restarted vigild ends it again.
#ifndef VIGIL_SESSIONS_SESSION_TERMINATOR_H
#define VIGIL_SESSIONS_SESSION_TERMINATOR_H

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "result.h"
#include "session_registry.h"
#include "session_scope.h"

namespace vigil {

struct TerminatorSettings {
    // Wait after logind or SIGHUP before SIGTERM, and after SIGTERM before SIGKILL.
    std::chrono::milliseconds grace{5000};
    // Wait after SIGKILL before counting survivors (stuck in D state).
    std::chrono::milliseconds kill_wait{1000};
    bool use_logind = true;
    std::chrono::milliseconds logind_timeout{5000};
    ScopeControl scopes = systemd_scopes(std::chrono::milliseconds{5000});
};

// What was done to one session, for the trail.
struct TerminationResult {
    std::string session_id;
    std::string why;             // as given to end()
    bool logind = false;         // logind accepted TerminateSession
    std::string logind_note;     // why logind was not used, or its error; empty when not relevant
    std::vector<int> signals;    // in the order sent: SIGHUP, SIGTERM, SIGKILL
    size_t processes = 0;        // distinct processes signalled
    size_t survivors = 0;        // still alive at the end
    std::string scope;           // the session's scope unit, signalled with the tree; empty: none
    size_t scope_processes = 0;  // processes in the scope when its first signal went out
    bool ended = false;          // nothing of the session is left
    // "logind TerminateSession 12", "SIGHUP→SIGTERM→SIGKILL, 3 processes",
    // "SIGHUP, 1 process (scope vigil-session-….scope: 3)",
    // "nothing signalled: process 4242 is gone or was replaced"
    std::string summary;
};

class SessionTerminator {
public:
    using Done = std::function<void(TerminationResult)>;

    explicit SessionTerminator(TerminatorSettings settings = {});
    ~SessionTerminator();
    SessionTerminator(const SessionTerminator&) = delete;
    SessionTerminator& operator=(const SessionTerminator&) = delete;

    // Starts ending s. False (and nothing queued, done never called) when s is
    // already being ended: the caller's loop may ask again on every tick.
    bool end(const LiveSession& s, std::string why, Done done);

    // Sessions whose escalation has not finished yet.
    size_t pending() const;
    // Whether s is being ended (end() took it and it has not finished).
    bool ending(const std::string& session_id) const;

    struct Escalation;  // one session's progress; defined in the .cc

private:
    void run();
    std::chrono::steady_clock::time_point next_wake_locked() const;
    std::list<std::unique_ptr<Escalation>> take_due_locked();

    TerminatorSettings settings_;
    mutable std::mutex mu_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::list<std::unique_ptr<Escalation>> queue_;
    std::set<std::string> active_;  // session ids queued or being advanced
    std::thread worker_;
};

// The terminal of a session's process tree: the controlling tty of the
// nearest process (pid first, then its children, breadth first) that has
// one, as "/dev/pts/N" or "/dev/ttyN", checked against the device node. For
// sshd, whose PAM_TTY is the literal "ssh", this finds the shell's pts.
std::optional<std::string> session_tty(pid_t session_pid);

// Longest warning text written; the rest is cut.
inline constexpr size_t kMaxWarningBytes = 512;

// Writes "\r\nvigil: <text>\r\n" to a user's terminal, e.g. "your session ends
// in 2 minutes". Only a canonical /dev/pts/N or /dev/ttyN path is accepted
// ("pts/3" is read as "/dev/pts/3"); a symlink, or any other file, is
// refused. Control characters in text are replaced, so a message cannot
// drive the terminal. Never blocks: a terminal that does not take the whole
// message at once gets part of it, and the error says so.
Status warn_tty(const std::string& tty_path, std::string_view text);

}  // namespace vigil

#endif
