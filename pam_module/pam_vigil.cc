// pam_vigil.so: asks vigild for a decision on every sshd and sudo request
// and enforces the answer. The entry points only forward; each phase is a
// short list of steps in vigil_pam(). Nothing here throws, keeps global
// state, starts threads or links more than libc and libpam.
#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <syslog.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#include "agent_client.h"
#include "break_glass.h"
#include "conversation.h"
#include "deadline_io.h"
#include "module_args.h"
#include "protocol.h"
#include "request_facts.h"

namespace vigil::pam {

using wire::AgentAnswer;
using wire::ask_agent;
using wire::ClientStatus;

namespace {

enum class Phase { Account, Auth, OpenSession, CloseSession };

struct PhaseInfo {
    const char* name;
    wire::Kind kind;
    int deny_code;  // what this phase returns for a deny
};

PhaseInfo info(Phase phase) {
    switch (phase) {
        case Phase::Account: return {wire::kPhaseAccount, wire::Kind::Account, PAM_PERM_DENIED};
        case Phase::Auth: return {wire::kPhaseAuth, wire::Kind::Auth, PAM_AUTH_ERR};
        // Not PAM_SESSION_ERR: sudo takes that as a session it may go on
        // without (sudoers' pam.c, "non-fatal") and runs the command anyway.
        // sshd ends the login on any error.
        case Phase::OpenSession: return {wire::kPhaseOpenSession, wire::Kind::OpenSession, PAM_PERM_DENIED};
        case Phase::CloseSession: return {wire::kPhaseCloseSession, wire::Kind::CloseSession, PAM_SUCCESS};
    }
    return {"unknown", wire::Kind::Account, PAM_PERM_DENIED};
}

void free_data(pam_handle_t*, void* data, int) { std::free(data); }

// Everything one exchange needs (~70 KiB), on the heap so a host program
// with small thread stacks is safe. malloc, not operator new: the module does
// not link the C++ runtime.
struct Exchange {
    RequestFacts facts;
    uint8_t frame[wire::kMaxFrame];
    AgentAnswer answer;
};

class HeapExchange {
public:
    HeapExchange() {
        // Default-, not value-initialised: the buffers need no zeroing.
        if (void* p = std::malloc(sizeof(Exchange))) x_ = new (p) Exchange;
    }
    HeapExchange(const HeapExchange&) = delete;
    HeapExchange& operator=(const HeapExchange&) = delete;
    ~HeapExchange() { std::free(x_); }
    Exchange* get() const { return x_; }

private:
    Exchange* x_ = nullptr;
};

// pam_systemd, stacked after us, hands this to logind as the session's
// RuntimeMaxSec, so the limit holds even if vigild is gone later.
void set_runtime_max(pam_handle_t* pamh, std::string_view seconds) {
    if (seconds.empty()) return;
    char* copy = strndup(seconds.data(), seconds.size());
    if (copy == nullptr) return;
    if (pam_set_data(pamh, "systemd.runtime_max_sec", copy, free_data) != PAM_SUCCESS) {
        std::free(copy);
    }
}

// A request vigil cannot decide (it cannot be built, the agent refused it or
// answered nonsense): a deny in every fail mode, since the rest of the stack
// would otherwise decide alone. Fail modes are only for an agent that cannot
// be reached or does not answer in time (agent_failed).
int refused(pam_handle_t* pamh, Phase phase, const char* why) {
    PhaseInfo pi = info(phase);
    if (phase == Phase::CloseSession) {
        pam_syslog(pamh, LOG_WARNING, "%s: %s; session end not recorded", pi.name, why);
        return PAM_SUCCESS;
    }
    pam_syslog(pamh, LOG_ERR, "%s: %s; denying", pi.name, why);
    char text[160];
    snprintf(text, sizeof text, "access denied: vigil cannot check this request (%s)", why);
    tell_user(pamh, text);
    return pi.deny_code;
}

// failmode=secure and the agent could not be asked: a member of the
// breakglass= group passes, and the use is recorded here since vigild may
// never come back (break_glass.h). True when it passes.
bool break_glass(pam_handle_t* pamh, const ModuleArgs& args, const RequestFacts& facts, const char* phase,
                 const char* why) {
    char user[256];
    if (args.breakglass_group == nullptr || !break_glass_user(facts, user, sizeof user) ||
        !in_local_group(user, args.breakglass_group)) {
        return false;
    }
    char err[160] = "";
    bool spooled =
        spool_break_glass(args.breakglass_dir, facts, user, phase, args.breakglass_group, why, err, sizeof err);
    pam_syslog(pamh, LOG_ALERT, "%s: BREAK-GLASS: %s (group %s) let through for %.*s from %.*s: %s; %s%s", phase, user,
               args.breakglass_group, static_cast<int>(facts.service.size()), facts.service.data(),
               facts.rhost.empty() ? 5 : static_cast<int>(facts.rhost.size()),
               facts.rhost.empty() ? "local" : facts.rhost.data(), why,
               spooled ? "spooled for vigild's trail in " : "NOT spooled for vigild's trail: ",
               spooled ? args.breakglass_dir : err);
    return true;
}

// The agent could not be asked: the PAM line's failmode decides.
int agent_failed(pam_handle_t* pamh, const ModuleArgs& args, const RequestFacts& facts, Phase phase, const char* why) {
    PhaseInfo pi = info(phase);
    if (phase == Phase::CloseSession) {
        // The session is over either way; nothing to deny.
        pam_syslog(pamh, LOG_WARNING, "%s: %s; session end not recorded", pi.name, why);
        return PAM_SUCCESS;
    }
    if (args.failmode == FailMode::Safe) {
        pam_syslog(pamh, LOG_WARNING, "%s: %s; failmode=safe, ignoring", pi.name, why);
        return PAM_IGNORE;
    }
    if (break_glass(pamh, args, facts, pi.name, why)) return PAM_IGNORE;
    pam_syslog(pamh, LOG_ERR, "%s: %s; failmode=secure, denying", pi.name, why);
    tell_user(pamh, "access check unavailable, request denied");
    return pi.deny_code;
}

// Maps the agent's outcome to this phase's PAM result: the one place where
// vigil outcomes become PAM codes. proven: the person answered a step-up.
int enforce(pam_handle_t* pamh, Phase phase, const AgentAnswer& answer, bool proven) {
    PhaseInfo pi = info(phase);
    if (answer.outcome == wire::kOutcomePass) return PAM_IGNORE;  // report mode: recorded, not enforced
    if (answer.outcome == wire::kOutcomeAllow) {
        if (phase == Phase::Account) set_runtime_max(pamh, answer.session_max_seconds);
        // Auth has nothing to prove without a step-up: leave the stack's verdict alone.
        if (phase == Phase::Auth) return proven ? PAM_SUCCESS : PAM_IGNORE;
        return PAM_SUCCESS;
    }
    if (phase == Phase::CloseSession) return PAM_SUCCESS;
    if (answer.outcome == wire::kOutcomeDeny) {
        tell_user(pamh, answer.reason_user.empty() ? "access denied by policy" : answer.reason_user);
        return pi.deny_code;
    }
    if (answer.outcome == wire::kOutcomeStepUp) {
        tell_user(pamh,
                  "this request needs a second factor; it can only be given where the PAM "
                  "auth phase runs (sudo, or sshd with keyboard-interactive)");
        return pi.deny_code;
    }
    return refused(pamh, phase, "agent answered with an unknown outcome");
}

// Unreachable, timed out or hung up (vigild died holding the request): the
// failmode decides. A malformed answer is not silence: it is refused.
int not_answered(pam_handle_t* pamh, const ModuleArgs& args, const RequestFacts& facts, Phase phase, ClientStatus s) {
    if (s == ClientStatus::Garbage) return refused(pamh, phase, describe(s));
    return agent_failed(pamh, args, facts, phase, describe(s));
}

constexpr int kMaxRounds = 16;        // prompts in one step-up (retries included)
constexpr size_t kMaxResponse = 512;  // longest reply sent back (a code, a reason)

// The auth phase's step-up: while the agent answers "challenge", asks the
// person and sends the reply back. Returns PAM_SUCCESS when the rounds ended
// with an ordinary answer in x->answer, else the PAM code to return. The
// typed reply is wiped from every buffer that held it.
int run_challenges(pam_handle_t* pamh, const ModuleArgs& args, Exchange* x, bool& proven) {
    for (int round = 0; x->answer.outcome == wire::kOutcomeChallenge; ++round) {
        if (round == kMaxRounds) return refused(pamh, Phase::Auth, "too many step-up rounds");
        char typed[kMaxResponse];
        if (!ask_user(pamh, x->answer.info, x->answer.prompt, x->answer.echo == "on", typed, sizeof typed)) {
            pam_syslog(pamh, LOG_NOTICE, "auth: step-up conversation failed or was abandoned");
            return PAM_AUTH_ERR;
        }
        size_t n =
            wire::step_up_answer_frame(x->answer.challenge_id, typed, args.timeout_ms, x->frame, sizeof x->frame);
        explicit_bzero(typed, sizeof typed);
        if (n == 0) {
            explicit_bzero(x->frame, sizeof x->frame);
            return refused(pamh, Phase::Auth, "step-up answer too large");
        }
        ClientStatus s = ask_agent(args.socket_path, args.timeout_ms, wire::Kind::StepUpAnswer, x->frame, n, x->answer);
        explicit_bzero(x->frame, n);
        if (s != ClientStatus::Ok) return not_answered(pamh, args, x->facts, Phase::Auth, s);
        proven = true;
    }
    return PAM_SUCCESS;
}

int vigil_pam(Phase phase, pam_handle_t* pamh, int argc, const char** argv) {
    ModuleArgs args = parse_module_args(pamh, argc, argv);
    PhaseInfo pi = info(phase);
    HeapExchange holder;
    Exchange* x = holder.get();
    if (x == nullptr) return refused(pamh, phase, "out of memory");

    if (!gather_facts(pamh, x->facts)) return refused(pamh, phase, "no PAM_USER");
    wire::Writer w(x->frame, sizeof x->frame);
    w.put(wire::Tag::Phase, pi.name);
    w.put_u64(wire::Tag::BudgetMs, static_cast<uint64_t>(args.timeout_ms));
    // vigild counts the budget from here, not from its accept: a full
    // backlog must not make it promise time the module will not wait.
    w.put_u64(wire::Tag::AskedAtMs, static_cast<uint64_t>(wire::monotonic_ms()));
    if (phase == Phase::Auth && args.after_auth) w.put(wire::Tag::AfterAuth, "1");
    put_facts(x->facts, w);
    size_t n = w.finish(pi.kind);
    if (n == 0) return refused(pamh, phase, "request facts too large for one frame");

    ClientStatus s = ask_agent(args.socket_path, args.timeout_ms, pi.kind, x->frame, n, x->answer);
    if (s != ClientStatus::Ok) return not_answered(pamh, args, x->facts, phase, s);
    bool proven = false;
    if (phase == Phase::Auth) {
        if (int rc = run_challenges(pamh, args, x, proven); rc != PAM_SUCCESS) return rc;
    }
    if (args.debug) {
        const AgentAnswer& a = x->answer;
        pam_syslog(pamh, LOG_DEBUG, "%s: user=%.*s outcome=%.*s request=%.*s", pi.name,
                   static_cast<int>(x->facts.user.size()), x->facts.user.data(), static_cast<int>(a.outcome.size()),
                   a.outcome.data(), static_cast<int>(a.request_id.size()), a.request_id.data());
    }
    return enforce(pamh, phase, x->answer, proven);
}

}  // namespace
}  // namespace vigil::pam

using vigil::pam::Phase;

// Built with -fvisibility=hidden; the version script is the second fence.
#define VIGIL_EXPORT __attribute__((visibility("default")))

extern "C" {

VIGIL_EXPORT int pam_sm_acct_mgmt(pam_handle_t* pamh, int, int argc, const char** argv) {
    return vigil::pam::vigil_pam(Phase::Account, pamh, argc, argv);
}

VIGIL_EXPORT int pam_sm_authenticate(pam_handle_t* pamh, int, int argc, const char** argv) {
    return vigil::pam::vigil_pam(Phase::Auth, pamh, argc, argv);
}

VIGIL_EXPORT int pam_sm_setcred(pam_handle_t*, int, int, const char**) { return PAM_IGNORE; }

VIGIL_EXPORT int pam_sm_open_session(pam_handle_t* pamh, int, int argc, const char** argv) {
    return vigil::pam::vigil_pam(Phase::OpenSession, pamh, argc, argv);
}

VIGIL_EXPORT int pam_sm_close_session(pam_handle_t* pamh, int, int argc, const char** argv) {
    return vigil::pam::vigil_pam(Phase::CloseSession, pamh, argc, argv);
}

}  // extern "C"
