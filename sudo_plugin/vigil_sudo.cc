// vigil_sudo.so: sudo's approval plugin (sudo_plugin(5)). After sudoers has
// accepted a command, sudo calls check() with the command resolved (full
// path, run-as user and group, cwd) and the exact argv; the plugin asks
// vigild and the command runs only if vigild allows it. With sudoers'
// `intercept`, sudo calls open, check and close again for every program the
// command starts.
//
// Runs inside setuid sudo, as root, with the invoking user's environment:
// libc only, no exceptions, nothing read from the environment, every failure
// a deny. sudo hands state only through open()'s arguments, so the little
// check() needs is kept in one struct and cleared in close().
#include <sudo_plugin.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <new>

#include "agent_client.h"
#include "command_frame.h"
#include "deadline_io.h"
#include "plugin_options.h"
#include "protocol.h"
#include "user_text.h"

namespace vigil::sudo {
namespace {

struct Invocation {
    sudo_conv_t conversation = nullptr;
    sudo_printf_t printf = nullptr;
    bool noninteractive = false;  // sudo -n: nothing may be asked
    char* const* user_info = nullptr;
    PluginOptions options;
    char message[wire::kMaxUserLine] = {};  // *errstr points here until close()
};
Invocation current;

// Everything one exchange needs (~150 KiB), on the heap: sudo's stack is
// the user's to size (RLIMIT_STACK).
struct Exchange {
    char argv[kMaxArgvBytes];
    uint8_t frame[wire::kMaxFrame];
    wire::AgentAnswer answer;
    char info[wire::kMaxFrame + 1];  // a challenge's text, scrubbed for the terminal
    char prompt[wire::kMaxFrame + 1];
};

void say(int type, std::string_view text) {
    wire::render_user_line(text, current.message);
    if (current.printf != nullptr) current.printf(type, "%s\n", current.message);
}

// Shown to the user and handed to sudo's audit plugins (the sudo log line).
int refuse(const char** errstr, std::string_view why) {
    say(SUDO_CONV_ERROR_MSG, why);
    if (errstr != nullptr) *errstr = current.message;
    return 0;
}

// vigild could not be asked, or did not answer in time: the fail mode.
int unanswered(const char** errstr) {
    if (current.options.failmode == FailMode::Safe) {
        say(SUDO_CONV_ERROR_MSG, "access check unavailable; allowed (failmode=safe)");
        return 1;
    }
    return refuse(errstr, "access check unavailable, command denied");
}

constexpr int kMaxRounds = 5;
constexpr size_t kMaxResponse = 512;  // longest reply sent back (a code, a reason)

// Asks the person through sudo's conversation: info first (if any), then
// prompt. Copies the reply into typed and wipes sudo's copy.
bool ask_person(Exchange* x, char (&typed)[kMaxResponse]) {
    if (current.conversation == nullptr) return false;
    const wire::AgentAnswer& a = x->answer;
    wire::scrub_user_block(a.info, x->info);
    wire::scrub_user_block(a.prompt, x->prompt);
    sudo_conv_message msgs[2] = {};
    sudo_conv_reply replies[2] = {};
    int n = 0;
    if (!a.info.empty()) msgs[n++] = {SUDO_CONV_INFO_MSG, 0, x->info};
    int echo = a.echo == "on" ? SUDO_CONV_PROMPT_ECHO_ON : SUDO_CONV_PROMPT_ECHO_OFF;
    msgs[n++] = {echo, 0, x->prompt};
    int rc = current.conversation(n, msgs, replies, nullptr);
    char* reply = replies[n - 1].reply;
    bool ok = rc == 0 && reply != nullptr && std::strlen(reply) < sizeof typed;
    if (ok) std::memcpy(typed, reply, std::strlen(reply) + 1);
    for (sudo_conv_reply& r : replies) {
        if (r.reply != nullptr) explicit_bzero(r.reply, std::strlen(r.reply)), std::free(r.reply);
    }
    return ok;
}

// While vigild answers "challenge" (a step-up for this command), asks the
// person and sends the reply back. false: the rounds ended without an
// ordinary answer in x->answer; *rc says what check() returns.
bool run_challenges(Exchange* x, const char** errstr, int& rc) {
    for (int round = 0; x->answer.outcome == wire::kOutcomeChallenge; ++round) {
        if (round == kMaxRounds) return rc = refuse(errstr, "too many step-up rounds, command denied"), false;
        if (current.noninteractive) {
            return rc = refuse(errstr, "this command needs a second factor or a reason; sudo -n cannot ask"), false;
        }
        char typed[kMaxResponse];
        if (!ask_person(x, typed)) return rc = refuse(errstr, "step-up abandoned, command denied"), false;
        size_t n = wire::step_up_answer_frame(x->answer.challenge_id, typed, current.options.timeout_ms, x->frame,
                                              sizeof x->frame);
        explicit_bzero(typed, sizeof typed);
        if (n == 0) return rc = refuse(errstr, "step-up answer too large, command denied"), false;
        wire::ClientStatus s = wire::ask_agent(current.options.socket_path, current.options.timeout_ms,
                                               wire::Kind::StepUpAnswer, x->frame, n, x->answer);
        explicit_bzero(x->frame, n);
        if (s == wire::ClientStatus::Garbage) {
            return rc = refuse(errstr, "the access check gave a malformed answer, command denied"), false;
        }
        if (s != wire::ClientStatus::Ok) return rc = unanswered(errstr), false;
    }
    return true;
}

int enforce(const wire::AgentAnswer& a, const char** errstr) {
    if (a.outcome == wire::kOutcomeAllow || a.outcome == wire::kOutcomePass) return 1;
    if (a.outcome == wire::kOutcomeStepUp) {
        return refuse(errstr, a.reason_user.empty() ? "this command needs a second factor" : a.reason_user);
    }
    return refuse(errstr, a.reason_user.empty() ? "command denied by policy" : a.reason_user);
}

int decide(char* const command_info[], char* const run_argv[], const char** errstr) {
    auto* x = static_cast<Exchange*>(std::malloc(sizeof(Exchange)));
    if (x == nullptr) return refuse(errstr, "out of memory, command denied");
    new (x) Exchange;
    CommandFacts facts{current.user_info,    command_info, run_argv, current.options.timeout_ms,
                       wire::monotonic_ms(), getpid(),     getppid()};
    CommandFrame f = build_command_frame(facts, x->argv, x->frame);
    int rc = 0;
    if (f.error != nullptr) {
        // A request vigil cannot decide is a deny in every fail mode.
        rc = refuse(errstr, f.error);
    } else {
        wire::ClientStatus s = wire::ask_agent(current.options.socket_path, current.options.timeout_ms,
                                               wire::Kind::SudoCommand, x->frame, f.len, x->answer);
        if (s == wire::ClientStatus::Garbage)
            rc = refuse(errstr, "the access check gave a malformed answer, command denied");
        else if (s != wire::ClientStatus::Ok)
            rc = unanswered(errstr);
        else if (run_challenges(x, errstr, rc))
            rc = enforce(x->answer, errstr);
    }
    std::free(x);
    return rc;
}

// Never 0: sudo would unload the plugin and run the command without it.
int plugin_open(unsigned int version, sudo_conv_t conversation, sudo_printf_t sudo_printf, char* const settings[],
                char* const user_info[], int, char* const[], char* const[], char* const plugin_options[],
                const char** errstr) {
    current = Invocation{};
    current.conversation = conversation;
    current.printf = sudo_printf;
    const char* noninteractive = find_value(settings, "noninteractive");
    current.noninteractive = noninteractive != nullptr && std::strcmp(noninteractive, "true") == 0;
    current.user_info = user_info;
    if (SUDO_API_VERSION_GET_MAJOR(version) != SUDO_API_VERSION_MAJOR) {
        if (errstr != nullptr) *errstr = "vigil: incompatible sudo plugin API";
        return -1;
    }
    const char* bad = parse_plugin_options(plugin_options, current.options);
    if (bad != nullptr) say(SUDO_CONV_ERROR_MSG, bad);  // kept the secure default; said where the admin will see
    return 1;
}

void plugin_close() { current = Invocation{}; }

int plugin_check(char* const command_info[], char* const run_argv[], char* const[], const char** errstr) {
    return decide(command_info, run_argv, errstr);
}

int plugin_version(int) {
    if (current.printf != nullptr)
        current.printf(SUDO_CONV_INFO_MSG, "vigil approval plugin version %s\n", VIGIL_VERSION);
    return 1;
}

}  // namespace
}  // namespace vigil::sudo

// The one exported symbol; sudo.conf names it: "Plugin vigil_approval vigil_sudo.so".
extern "C" {
__attribute__((visibility("default"))) approval_plugin vigil_approval = {
    SUDO_APPROVAL_PLUGIN,      SUDO_API_VERSION,          vigil::sudo::plugin_open,
    vigil::sudo::plugin_close, vigil::sudo::plugin_check, vigil::sudo::plugin_version,
};
}
