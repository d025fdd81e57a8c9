// pam_harness: drives a PAM stack in-process, the way sshd or sudo would, from
// a private config directory. No /etc/pam.d change and no namespace needed:
// pam_start_confdir() (Linux-PAM >= 1.4) reads DIR/<service>.
//
//   pam_harness --confdir DIR --service S --user U
//               [--phase account|auth|session|all] [--count N | --for SECONDS] [--warmup N]
//               [--rhost IP] [--tty T] [--ruser U] [--invoker U] [--env NAME=VALUE]...
//               [--answer TEXT] [--silent] [--quiet] [--latency-out FILE]
//               [--results-out FILE]
//               [--check-fds]
//
// Each iteration is one full cycle: pam_start_confdir -> set PAM_RHOST,
// PAM_TTY, PAM_RUSER and the PAM environment -> the phase's calls -> pam_end.
//   account : pam_acct_mgmt
//   auth    : pam_authenticate
//   session : pam_open_session, pam_close_session
//   all     : pam_authenticate, pam_acct_mgmt, pam_open_session,
//             pam_close_session (stops at the first failure)
// The conversation prints PAM_ERROR_MSG and PAM_TEXT_INFO to stderr (unless
// --quiet) and answers every prompt with --answer; without --answer a prompt
// fails the conversation (PAM_CONV_ERR).
//
// --invoker U runs the cycles as setuid sudo does when U invokes it: real uid
// U's, effective uid root, and PAM_RUSER U (unless --ruser says otherwise).
// vigild names the subject of a sudo or su request by that real uid.
//
// --warmup N runs N extra cycles first that are neither timed nor counted.
// --for SECONDS runs cycles until that much time has passed instead of
// --count of them (a load test: each client keeps asking for the duration).
// --latency-out FILE writes one line per counted cycle: its wall time in
// nanoseconds (steady_clock around the whole cycle, pam_start to pam_end).
// --results-out FILE: the same with the cycle's PAM result after it
// ("<ns> <code>"), so a load test can tell allowed cycles from denied ones.
// --check-fds compares the number of open descriptors after the first counted
// cycle with the number after the last one: a stack that leaks a descriptor
// per cycle (a socket left open in sshd's monitor) fails with status 3.
//
// Exit status:
//   0        every counted cycle returned PAM_SUCCESS
//   10 + r   some cycle failed; r is the last failing PAM result code
//            (e.g. 16 = 10 + PAM_PERM_DENIED, 17 = 10 + PAM_AUTH_ERR,
//            29 = 10 + PAM_CONV_ERR, 35 = 10 + PAM_IGNORE); the last stderr
//            line is then "pam_harness: <pam_strerror(r)>". Note libpam may
//            turn a failure into PAM_SYSTEM_ERR (14) when its own audit
//            record cannot be sent (e.g. a PAM_RHOST of tens of KB).
//   2        bad command line or unwritable --latency-out file
//   3        --check-fds saw descriptors leak (checked before PAM results)
//
// Under ASan: in a -Db_sanitize=address,undefined build dir the harness is
// sanitized like the module, so it just works. A sanitized module in an
// uninstrumented harness needs the runtimes first:
//   LD_PRELOAD="$(g++ -print-file-name=libasan.so) $(g++ -print-file-name=libubsan.so)"
#include <dirent.h>
#include <getopt.h>
#include <pwd.h>
#include <security/pam_appl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

enum class Phase { Account, Auth, Session, All };

struct Options {
    const char* confdir = nullptr;
    const char* service = nullptr;
    const char* user = nullptr;
    const char* rhost = nullptr;
    const char* tty = nullptr;
    const char* ruser = nullptr;
    const char* invoker = nullptr;
    const char* answer = nullptr;
    const char* latency_out = nullptr;
    const char* results_out = nullptr;
    std::vector<const char*> env;
    Phase phase = Phase::Account;
    unsigned long count = 1;
    unsigned long seconds = 0;  // --for: run cycles this long instead of count
    unsigned long warmup = 0;
    int flags = 0;
    bool quiet = false;
    bool check_fds = false;
};

struct CycleResult {
    int code = PAM_SUCCESS;
    const char* step = "";
    const char* text = "";
};

constexpr int kExitUsage = 2;
constexpr int kExitFdLeak = 3;
constexpr int kExitPamBase = 10;

void usage() {
    std::fputs(
        "usage: pam_harness --confdir DIR --service S --user U\n"
        "         [--phase account|auth|session|all] [--count N | --for SECONDS] [--warmup N]\n"
        "         [--rhost IP] [--tty T] [--ruser U] [--invoker U] [--env NAME=VALUE]...\n"
        "         [--answer TEXT] [--silent] [--quiet] [--latency-out FILE] [--results-out FILE]\n"
        "         [--check-fds]\n"
        "exit: 0 all cycles PAM_SUCCESS, 10+r last failing PAM code r, 2 usage,\n"
        "      3 descriptor leak (--check-fds)\n",
        stderr);
}

// --- conversation ----------------------------------------------------------

struct ConvData {
    const char* answer;
    bool quiet;
};

void free_responses(pam_response* resp, int n) {
    for (int i = 0; i < n; ++i) {
        if (resp[i].resp != nullptr) {
            explicit_bzero(resp[i].resp, std::strlen(resp[i].resp));
            std::free(resp[i].resp);
        }
    }
    std::free(resp);
}

int answer_one(const pam_message* m, pam_response* r, const ConvData* data) {
    switch (m->msg_style) {
        case PAM_ERROR_MSG:
        case PAM_TEXT_INFO:
            if (!data->quiet) {
                std::fprintf(stderr, "pam_harness: %s: %s\n", m->msg_style == PAM_ERROR_MSG ? "error" : "info",
                             m->msg != nullptr ? m->msg : "");
            }
            return PAM_SUCCESS;
        case PAM_PROMPT_ECHO_OFF:
        case PAM_PROMPT_ECHO_ON:
            if (data->answer == nullptr) {
                if (!data->quiet) {
                    std::fprintf(stderr, "pam_harness: prompt without --answer: %s\n", m->msg != nullptr ? m->msg : "");
                }
                return PAM_CONV_ERR;
            }
            r->resp = strdup(data->answer);
            return r->resp != nullptr ? PAM_SUCCESS : PAM_BUF_ERR;
        default: return PAM_CONV_ERR;
    }
}

int conversation(int n, const pam_message** msg, pam_response** resp, void* appdata) {
    if (n <= 0 || n > PAM_MAX_NUM_MSG || msg == nullptr || resp == nullptr) return PAM_CONV_ERR;
    auto* out = static_cast<pam_response*>(std::calloc(static_cast<size_t>(n), sizeof(pam_response)));
    if (out == nullptr) return PAM_BUF_ERR;
    const auto* data = static_cast<const ConvData*>(appdata);
    for (int i = 0; i < n; ++i) {
        int rc = answer_one(msg[i], &out[i], data);
        if (rc != PAM_SUCCESS) {
            free_responses(out, n);
            return rc;
        }
    }
    *resp = out;
    return PAM_SUCCESS;
}

// --- one cycle -------------------------------------------------------------

// Owns a pam_handle_t; pam_end() runs with the last result, as applications do.
class PamHandle {
public:
    PamHandle() = default;
    PamHandle(const PamHandle&) = delete;
    PamHandle& operator=(const PamHandle&) = delete;
    ~PamHandle() {
        if (h_ != nullptr) pam_end(h_, last_);
    }
    pam_handle_t** out() { return &h_; }
    pam_handle_t* get() const { return h_; }
    void set_last(int rc) { last_ = rc; }

private:
    pam_handle_t* h_ = nullptr;
    int last_ = PAM_SUCCESS;
};

CycleResult fail(PamHandle& h, const char* step, int rc) {
    h.set_last(rc);
    return CycleResult{rc, step, pam_strerror(h.get(), rc)};
}

int set_facts(pam_handle_t* h, const Options& o) {
    int rc = PAM_SUCCESS;
    if (rc == PAM_SUCCESS && o.rhost != nullptr) rc = pam_set_item(h, PAM_RHOST, o.rhost);
    if (rc == PAM_SUCCESS && o.tty != nullptr) rc = pam_set_item(h, PAM_TTY, o.tty);
    if (rc == PAM_SUCCESS && o.ruser != nullptr) rc = pam_set_item(h, PAM_RUSER, o.ruser);
    for (const char* kv : o.env) {
        if (rc == PAM_SUCCESS) rc = pam_putenv(h, kv);
    }
    return rc;
}

CycleResult run_phase(PamHandle& h, const Options& o) {
    const bool all = o.phase == Phase::All;
    int rc = PAM_SUCCESS;
    if (all || o.phase == Phase::Auth) {
        if ((rc = pam_authenticate(h.get(), o.flags)) != PAM_SUCCESS) return fail(h, "auth", rc);
    }
    if (all || o.phase == Phase::Account) {
        if ((rc = pam_acct_mgmt(h.get(), o.flags)) != PAM_SUCCESS) return fail(h, "account", rc);
    }
    if (all || o.phase == Phase::Session) {
        if ((rc = pam_open_session(h.get(), o.flags)) != PAM_SUCCESS) {
            return fail(h, "open_session", rc);
        }
        if ((rc = pam_close_session(h.get(), o.flags)) != PAM_SUCCESS) {
            return fail(h, "close_session", rc);
        }
    }
    return CycleResult{};
}

CycleResult run_cycle(const Options& o, ConvData* data) {
    const pam_conv conv{conversation, data};
    PamHandle h;
    int rc = pam_start_confdir(o.service, o.user, &conv, o.confdir, h.out());
    if (rc != PAM_SUCCESS) return CycleResult{rc, "start", pam_strerror(h.get(), rc)};
    if ((rc = set_facts(h.get(), o)) != PAM_SUCCESS) return fail(h, "set_item", rc);
    return run_phase(h, o);
}

// --- command line ------------------------------------------------------------

bool parse_count(const char* s, unsigned long& out) {
    char* end = nullptr;
    errno = 0;
    unsigned long v = std::strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-') return false;
    out = v;
    return true;
}

bool parse_phase(std::string_view s, Phase& out) {
    if (s == "account")
        out = Phase::Account;
    else if (s == "auth")
        out = Phase::Auth;
    else if (s == "session")
        out = Phase::Session;
    else if (s == "all")
        out = Phase::All;
    else
        return false;
    return true;
}

enum OptId {
    kConfdir = 256,
    kService,
    kUser,
    kPhase,
    kCount,
    kFor,
    kWarmup,
    kRhost,
    kTty,
    kRuser,
    kInvoker,
    kEnv,
    kAnswer,
    kLatency,
    kResults,
    kSilent,
    kQuiet,
    kCheckFds,
    kHelp
};

const option kLongOptions[] = {
    {"confdir", required_argument, nullptr, kConfdir},
    {"service", required_argument, nullptr, kService},
    {"user", required_argument, nullptr, kUser},
    {"phase", required_argument, nullptr, kPhase},
    {"count", required_argument, nullptr, kCount},
    {"for", required_argument, nullptr, kFor},
    {"warmup", required_argument, nullptr, kWarmup},
    {"rhost", required_argument, nullptr, kRhost},
    {"tty", required_argument, nullptr, kTty},
    {"ruser", required_argument, nullptr, kRuser},
    {"invoker", required_argument, nullptr, kInvoker},
    {"env", required_argument, nullptr, kEnv},
    {"answer", required_argument, nullptr, kAnswer},
    {"latency-out", required_argument, nullptr, kLatency},
    {"results-out", required_argument, nullptr, kResults},
    {"silent", no_argument, nullptr, kSilent},
    {"quiet", no_argument, nullptr, kQuiet},
    {"check-fds", no_argument, nullptr, kCheckFds},
    {"help", no_argument, nullptr, kHelp},
    {nullptr, 0, nullptr, 0},
};

bool apply_option(int id, const char* arg, Options& o) {
    switch (id) {
        case kConfdir: o.confdir = arg; return true;
        case kService: o.service = arg; return true;
        case kUser: o.user = arg; return true;
        case kPhase: return parse_phase(arg, o.phase);
        case kCount: return parse_count(arg, o.count) && o.count > 0;
        case kFor: return parse_count(arg, o.seconds) && o.seconds > 0;
        case kWarmup: return parse_count(arg, o.warmup);
        case kRhost: o.rhost = arg; return true;
        case kTty: o.tty = arg; return true;
        case kRuser: o.ruser = arg; return true;
        case kInvoker: o.invoker = arg; return true;
        case kEnv: o.env.push_back(arg); return std::strchr(arg, '=') != nullptr;
        case kAnswer: o.answer = arg; return true;
        case kLatency: o.latency_out = arg; return true;
        case kResults: o.results_out = arg; return true;
        case kSilent: o.flags |= PAM_SILENT; return true;
        case kQuiet: o.quiet = true; return true;
        case kCheckFds: o.check_fds = true; return true;
        default: return false;
    }
}

bool parse_args(int argc, char** argv, Options& o) {
    int id;
    while ((id = getopt_long(argc, argv, "", kLongOptions, nullptr)) != -1) {
        if (!apply_option(id, optarg, o)) {
            if (id != '?') std::fprintf(stderr, "pam_harness: bad value for option\n");
            return false;
        }
    }
    if (optind != argc) {
        std::fprintf(stderr, "pam_harness: unexpected argument '%s'\n", argv[optind]);
        return false;
    }
    if (o.confdir == nullptr || o.service == nullptr || o.user == nullptr) {
        std::fprintf(stderr, "pam_harness: --confdir, --service and --user are required\n");
        return false;
    }
    if (o.invoker != nullptr && o.ruser == nullptr) o.ruser = o.invoker;
    return true;
}

// --invoker: the real uid becomes the invoker's, the effective uid stays root.
bool become_invoker(const char* name) {
    const passwd* pw = getpwnam(name);
    if (pw == nullptr) {
        std::fprintf(stderr, "pam_harness: --invoker %s: no such user\n", name);
        return false;
    }
    if (setresuid(pw->pw_uid, 0, 0) != 0) {
        std::fprintf(stderr, "pam_harness: --invoker %s: setresuid: %s\n", name, std::strerror(errno));
        return false;
    }
    return true;
}

// One line per cycle: its latency, and its PAM result when codes is given.
bool write_latencies(const char* path, const std::vector<int64_t>& ns, const std::vector<int>* codes = nullptr) {
    FILE* f = std::fopen(path, "w");
    if (f == nullptr) {
        std::fprintf(stderr, "pam_harness: %s: %s\n", path, std::strerror(errno));
        return false;
    }
    for (size_t i = 0; i < ns.size(); ++i) {
        if (codes != nullptr) {
            std::fprintf(f, "%lld %d\n", static_cast<long long>(ns[i]), (*codes)[i]);
        } else {
            std::fprintf(f, "%lld\n", static_cast<long long>(ns[i]));
        }
    }
    bool ok = std::fflush(f) == 0 && !std::ferror(f);
    ok = std::fclose(f) == 0 && ok;
    if (!ok) std::fprintf(stderr, "pam_harness: %s: write failed\n", path);
    return ok;
}

// Open descriptors of this process, or -1 if /proc is not there.
int count_fds() {
    DIR* d = opendir("/proc/self/fd");
    if (d == nullptr) return -1;
    int n = 0;
    while (const dirent* e = readdir(d)) {
        if (e->d_name[0] != '.') ++n;
    }
    closedir(d);
    return n - 1;  // the descriptor opendir itself holds
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    if (!parse_args(argc, argv, o)) {
        usage();
        return kExitUsage;
    }
    if (o.invoker != nullptr && !become_invoker(o.invoker)) return kExitUsage;
    ConvData data{o.answer, o.quiet};
    for (unsigned long i = 0; i < o.warmup; ++i) run_cycle(o, &data);

    std::vector<int64_t> latencies;
    std::vector<int> codes;
    bool timed = o.latency_out != nullptr || o.results_out != nullptr;
    if (timed && o.seconds == 0) latencies.reserve(o.count);
    CycleResult last_failure;
    unsigned long failures = 0;
    int fds_after_first = -1;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(o.seconds);
    auto more = [&](unsigned long done) {
        return o.seconds > 0 ? std::chrono::steady_clock::now() < until : done < o.count;
    };
    unsigned long cycles = 0;
    for (unsigned long i = 0; more(i); ++i, ++cycles) {
        auto t0 = std::chrono::steady_clock::now();
        CycleResult r = run_cycle(o, &data);
        auto t1 = std::chrono::steady_clock::now();
        if (timed) latencies.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
        if (o.results_out != nullptr) codes.push_back(r.code);
        if (r.code != PAM_SUCCESS) {
            ++failures;
            last_failure = r;
        }
        if (o.check_fds && i == 0) fds_after_first = count_fds();
    }
    if (o.latency_out != nullptr && !write_latencies(o.latency_out, latencies)) return kExitUsage;
    if (o.results_out != nullptr && !write_latencies(o.results_out, latencies, &codes)) return kExitUsage;
    if (o.check_fds) {
        int fds_now = count_fds();
        if (fds_now != fds_after_first) {
            std::fprintf(stderr, "pam_harness: descriptor leak: %d open after cycle 1, %d after %lu\n", fds_after_first,
                         fds_now, cycles);
            return kExitFdLeak;
        }
    }
    if (failures == 0) return 0;
    std::fprintf(stderr, "pam_harness: %lu of %lu cycles failed; last in %s with code %d\n", failures, cycles,
                 last_failure.step, last_failure.code);
    std::fprintf(stderr, "pam_harness: %s\n", last_failure.text);
    return kExitPamBase + last_failure.code;
}
