// Account-phase allows, remembered briefly by the pid that asked, so the
// session that follows is filed under the decision that let it in.
//
// sudo opens its session for the *target* user (it sets PAM_USER to root
// before pam_open_session), so a session is never re-decided by the rules:
// it is linked to the account decision of the same process (sudo) or of its
// parent (sshd forks its session child from the monitor that ran account).
#ifndef VIGIL_POLICY_RECENT_DECISIONS_H
#define VIGIL_POLICY_RECENT_DECISIONS_H

#include <sys/types.h>

#include <chrono>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "request.h"

namespace vigil {

struct RecentDecision {
    std::string request_id;
    std::string user;
    std::string pam_user;
    std::string service;
    std::optional<std::chrono::seconds> session_max;
    std::optional<std::chrono::seconds> session_idle;
    std::optional<std::chrono::seconds> reevaluate;  // the PDP's reevaluate_seconds
    std::chrono::steady_clock::time_point at;
    // What the request proved, for the re-decisions of the session.
    std::optional<StepUpProof> mfa;
    std::string purpose;
    // Made for a command sudo's approval plugin asked about, not for sudo's
    // PAM account phase: with [sudo] approval = "plugin", the session sudo
    // opens must follow such a decision.
    bool command = false;
    // That command (argv as sudo runs it, and what sudo resolved): the
    // session's re-decisions ask about it again, not about "sudo".
    std::vector<std::string> argv;
    std::optional<SudoCommand> sudo;
    // sshd's SSH_AUTH_INFO_0 (the key or certificate the login used): the
    // session's re-decisions read the certificate again, with the CAs
    // trusted then, so a workload stays a workload.
    std::string ssh_auth_info;
};

class RecentDecisions {
public:
    void remember(pid_t pid, RecentDecision d);
    // The newest decision made for pid, or else for ppid, if still fresh.
    std::optional<RecentDecision> find(pid_t pid, pid_t ppid);

private:
    static constexpr size_t kCapacity = 8192;
    static constexpr std::chrono::minutes kMaxAge{10};

    std::mutex mu_;
    std::unordered_map<pid_t, RecentDecision> by_pid_;
    std::deque<pid_t> order_;  // oldest first, for eviction
};

}  // namespace vigil

#endif
