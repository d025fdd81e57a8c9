// One access request as the agent sees it: what the PAM module said, plus
// what the agent checked itself (the peer's credentials).
#ifndef VIGIL_POLICY_REQUEST_H
#define VIGIL_POLICY_REQUEST_H

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace vigil {

// Reevaluate: a live session decided again (its interval, a posture change);
// SessionEnd: vigild ended a session (limit, revoke, re-decision).
// Grant: a just-in-time grant request (vigilctl grant request).
// Command: one command sudo is about to run, from its approval plugin.
enum class Phase { Account, Auth, OpenSession, CloseSession, DryRun, Reevaluate, SessionEnd, Grant, Command };

const char* to_string(Phase p);

struct PeerCredentials {
    pid_t pid = 0;
    uid_t uid = 0;
    gid_t gid = 0;
};

// A second factor proven through the PAM conversation, which the request
// carries into the decision (context.mfa for the PDP, the trail).
struct StepUpProof {
    std::string method;  // "totp" | "device"
    std::chrono::system_clock::time_point at;
    std::string subject;           // device: the provider's sub
    std::vector<std::string> amr;  // device: the ID token's amr
    std::string acr;               // device: the ID token's acr
};

// What sudo resolved for one command (its approval plugin's command_info):
// exact, unlike the command line the PAM module reads from /proc.
struct SudoCommand {
    std::string path;      // the program sudo runs, fully qualified
    std::string resolved;  // path with its symlinks resolved (command_pattern.h)
    std::string runas_user;
    std::optional<uid_t> runas_uid;
    std::string runas_group;  // empty: sudo named no group
    std::optional<gid_t> runas_gid;
    std::string cwd;
    size_t sudoedit_files = 0;  // sudoedit: the files edited are the command's last this many arguments
};

struct Request {
    Phase phase = Phase::Account;
    // The subject: PAM_USER, or for sudo and su the invoking user (invoker.h).
    std::string user;
    // sudo and su: the account PAM_USER named, whose password sudo asks for
    // (the target under targetpw and for su, root under rootpw; invoker.h).
    std::string pam_user;
    std::string service;
    std::string rhost;  // empty: not a network login (sudo, su, console)
    std::string tty;
    std::string ruser;
    std::string ssh_auth_info;
    std::string xdg_session_id;
    std::vector<std::string> command;  // sudo's argv: run_argv from the plugin, else /proc's cmdline
    bool argv_truncated = false;       // command is only the start of it
    std::optional<SudoCommand> sudo;   // Phase::Command: what sudo resolved
    // The PAM phases of sudo when its approval plugin decides each command
    // ([sudo] approval = "plugin"): set by the engine from the config.
    bool sudo_plugin = false;
    bool after_auth = false;  // auth phase: the PAM stack authenticated the user before vigil
    pid_t pid = 0;
    pid_t ppid = 0;
    std::optional<PeerCredentials> peer;  // absent for a dry run
    // Proven in this transaction or remembered from a recent one (step-up).
    std::optional<StepUpProof> mfa;
    std::string purpose;  // the justification the person typed
    // Phase::Grant: the group asked for and for how long.
    std::string grant_group;
    std::string grant_account;  // an ephemeral account, instead of a group
    std::chrono::seconds grant_length{0};
    // The length as asked; grant_length is it capped by [grants] max (what
    // the PDP sees).
    std::chrono::seconds grant_asked{0};
    // How long the module waits for the whole exchange; 0: unknown.
    std::chrono::milliseconds budget{0};
    std::chrono::steady_clock::time_point received = std::chrono::steady_clock::now();
};

// What `vigilctl decide` asks about: decided like a real request, not audited.
Request dry_run_request(std::string user, std::string service, std::string rhost, std::string tty);

}  // namespace vigil

#endif
