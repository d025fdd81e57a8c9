// Step-up: the fresh second factor (TOTP, OAuth device flow) and the
// justification (purpose) that a rule or the PDP asks for before it allows,
// proven through the PAM conversation in the auth phase.
//
//   Auth ───────── engine: step_up ─▶ open()    ─▶ "challenge" (prompt) ─▶ module asks the person
//   StepUpAnswer ─────────────────▶ answer()  ─▶ Ask again | Fail | Done(request with mfa/purpose)
//   Done ─ engine: allow ─▶ remember()          so the account phase (and, for `remember`,
//                                               later requests) see the proof through attach()
//
// sshd runs keyboard-interactive PAM auth in a child of its monitor and the
// account phase in the monitor (DESIGN.md §2), so a proof is kept here, in
// the agent, under the answering process and its parent — never in PAM data.
// Challenges are single-use, bound to the process that opened them, and
// expire; everything is forgotten when the posture changes.
#ifndef VIGIL_STEP_UP_STEP_UP_H
#define VIGIL_STEP_UP_STEP_UP_H

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <string>

#include "decision.h"
#include "request.h"
#include "step_up_settings.h"

namespace vigil {

class TotpStore;
class DeviceFlow;
struct DevicePoll;

// What the module shows and asks next.
struct StepUpPrompt {
    std::string challenge_id;
    std::string info;    // shown first (may be several lines: a QR code)
    std::string prompt;  // the question
    bool echo = false;   // show what is typed (a reason), or not (a code)
};

struct StepUpReply {
    enum class Kind { Ask, Done, Fail } kind = Kind::Fail;
    StepUpPrompt next;         // Ask
    Request request;           // Done and Fail: the original request (Done: with mfa and purpose set)
    std::string reason_user;   // Fail
    std::string reason_admin;  // Fail
};

class StepUpCoordinator {
public:
    StepUpCoordinator();
    ~StepUpCoordinator();
    StepUpCoordinator(const StepUpCoordinator&) = delete;
    StepUpCoordinator& operator=(const StepUpCoordinator&) = delete;

    // At start and on every reload.
    void configure(const StepUpSettings& s);

    // Sets q.mfa and q.purpose from a proof given in this PAM transaction
    // (by q's process or, for sshd, the child it forked for auth; the
    // account phase uses it up) or, within [step_up] remember, for the same
    // user, service, tty and rhost and the same binding: the SSH key of the
    // login, or the terminal session of the sudo (none: not remembered).
    void attach(Request& q);

    // d is a StepUp decision for q (auth phase): opens a challenge.
    // Fails (kind Fail) when nothing can be asked (no method, too many open).
    // Answers before q's module stops waiting (q.received + q.budget): a
    // device sign-in's provider that is slower fails the step-up.
    StepUpReply open(const Request& q, const Decision& d);

    // The person's reply to challenge id, from peer. deadline (when the
    // module stops waiting) bounds any wait: the device flow's approval, or
    // the provider when a reason given makes the device sign-in start.
    StepUpReply answer(const std::string& id, const std::string& response, const PeerCredentials& peer,
                       std::chrono::steady_clock::time_point deadline);

    // The engine allowed q with its proof: keep it for the account phase
    // and the remember window.
    void remember(const Request& q);

    // Posture changed: no proof given under the old posture stands.
    void forget_all();

private:
    struct Challenge;
    struct Proof {
        std::optional<StepUpProof> mfa;
        std::string purpose;
        std::string user, service, tty, rhost, ruser;
        std::chrono::steady_clock::time_point until;
        uint64_t start_time = 0;  // of the process the proof is kept under
    };

    StepUpReply next_stage(const std::string& id, Challenge& c);
    StepUpReply answer_purpose(const std::string& id, Challenge& c, const std::string& response);
    StepUpReply answer_totp(const std::string& id, Challenge& c, const std::string& response);
    StepUpReply answer_device(const std::string& id, Challenge& c, std::chrono::steady_clock::time_point deadline);
    StepUpReply finish_stage(std::unique_lock<std::mutex>& lock, const std::string& id, StepUpReply r,
                             std::chrono::steady_clock::time_point deadline);
    StepUpReply start_device(const std::string& id, Challenge& c, std::unique_ptr<DeviceFlow> flow);
    StepUpReply fail(const std::string& id, const std::string& user, const std::string& admin);
    void sweep(std::chrono::steady_clock::time_point now);

    mutable std::mutex mu_;
    StepUpSettings settings_;
    std::regex purpose_re_;
    std::unique_ptr<TotpStore> totp_;
    std::map<std::string, std::unique_ptr<Challenge>> challenges_;
    std::map<pid_t, Proof> by_process_;       // this transaction: the auth process and its parent
    std::map<std::string, Proof> by_window_;  // user\nservice\ntty\nrhost\nbinding
};

}  // namespace vigil

#endif
