// vigild: the vigil agent. Loads vigil.toml, opens the trail, listens on the
// PAM and admin sockets and answers until SIGTERM. SIGHUP reloads the
// policy; a bad new file is refused and the running one stays.
//
//   vigild --config /etc/vigil/vigil.toml            # run in the foreground
//   vigild --check --config /etc/vigil/vigil.toml    # validate, like sshd -t
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>

#include "audit_log.h"
#include "break_glass_spool.h"
#include "collectors.h"
#include "config.h"
#include "engine.h"
#include "grants.h"
#include "health.h"
#include "id_token.h"
#include "log.h"
#include "metrics_textfile.h"
#include "posture_changes.h"
#include "posture_view.h"
#include "server.h"
#include "session_registry.h"
#include "session_terminator.h"
#include "session_watch.h"
#include "signal_store.h"
#include "socket_activation.h"
#include "stale_signals.h"
#include "telemetry.h"
#include "timestamp.h"
#include "unix_listener.h"

namespace vigil {
namespace {

constexpr const char* kDefaultConfig = "/etc/vigil/vigil.toml";
// How often the main loop looks for posture signals gone stale.
constexpr int kStaleCheckMs = 5000;
// How often, at most, it looks for break-glass uses the module spooled.
constexpr std::chrono::seconds kBreakGlassCheck{1};

struct Options {
    std::string config = kDefaultConfig;
    bool check = false;
    bool debug = false;
};

void usage(FILE* out) {
    std::fprintf(out,
                 "usage: vigild [--config FILE] [--check] [--debug]\n"
                 "  --config FILE  configuration (default %s)\n"
                 "  --check        validate the configuration and exit\n"
                 "  --debug        log every request\n",
                 kDefaultConfig);
}

// Returns false (after printing why) for a bad command line.
bool parse_args(int argc, char** argv, Options& o, int& exit_code) {
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--config" && i + 1 < argc) {
            o.config = argv[++i];
        } else if (a.rfind("--config=", 0) == 0) {
            o.config = a.substr(9);
        } else if (a == "--check" || a == "-t") {
            o.check = true;
        } else if (a == "--debug") {
            o.debug = true;
        } else if (a == "--help" || a == "-h") {
            usage(stdout);
            exit_code = 0;
            return false;
        } else {
            std::fprintf(stderr, "vigild: unknown argument %s\n", a.c_str());
            usage(stderr);
            exit_code = 2;
            return false;
        }
    }
    return true;
}

// The engine currently in force; replaced whole on reload.
class EngineSlot {
public:
    void set(std::shared_ptr<Engine> e) {
        std::lock_guard lock(mu_);
        engine_ = std::move(e);
    }
    std::shared_ptr<Engine> get() {
        std::lock_guard lock(mu_);
        return engine_;
    }

private:
    std::mutex mu_;
    std::shared_ptr<Engine> engine_;
};

// Acts on posture changes that matter (posture_view.h): drops the PDP's
// cached answers and the step-up proofs, and re-decides every live session.
// Collectors report from their own threads; the main loop looks again when a
// settle time ends and when signals may have gone stale.
class PostureReaction {
public:
    PostureReaction(EngineSlot& slot, posture::SignalStore& store, StepUpCoordinator& step_up, SessionWatch& watch)
        : slot_(slot), store_(store), step_up_(step_up), watch_(watch), changes_(slot.get()->config().posture.settle) {
        rebase();  // what is known at start (often nothing yet) is no change
    }

    void look() {
        auto engine = slot_.get();
        std::optional<std::vector<std::string>> what;
        {
            // The snapshot under the lock: views are observed in the order taken.
            std::lock_guard lock(mu_);
            auto view = posture_view(engine->config(), store_.snapshot(), std::chrono::system_clock::now());
            what = changes_.observe(std::move(view), std::chrono::steady_clock::now());
        }
        if (!what) return;
        log_info("posture: {}; re-deciding live sessions",
                 what->empty() ? "changed" : fmt::format("{}", fmt::join(*what, "; ")));
        engine->forget_cached_answers();
        step_up_.forget_all();
        watch_.redecide_all();
    }
    // After a reload: the new policy's view is the baseline (the reload
    // re-decides sessions by itself when the policy changed).
    void rebase() {
        auto engine = slot_.get();
        std::lock_guard lock(mu_);
        changes_.rebase(posture_view(engine->config(), store_.snapshot(), std::chrono::system_clock::now()),
                        engine->config().posture.settle);
    }
    std::optional<std::chrono::steady_clock::time_point> due_at() {
        std::lock_guard lock(mu_);
        return changes_.due_at();
    }

private:
    EngineSlot& slot_;
    posture::SignalStore& store_;
    StepUpCoordinator& step_up_;
    SessionWatch& watch_;
    std::mutex mu_;
    PostureChanges changes_;
};

// What the configuration says that should change (config.h: warnings),
// where an admin running vigild looks: its log, at every load.
void log_config_warnings(const Config& c) {
    for (const std::string& w : c.warnings) log_warn("configuration: {}", w);
}

void reload(const std::string& path, const Config& running, AuditLog* audit, RecentDecisions* recent,
            PdpCache* last_answers, posture::SignalStore* posture, StepUpCoordinator& step_up, EngineSlot& slot) {
    auto next = load_config(path);
    if (!next) {
        log_event(Event::ReloadRefused, LogLevel::Error, "reload refused, keeping the running policy: {}",
                  next.error().message);
        count_config_reload(false);
        return;
    }
    const AgentSettings &a = running.agent, &b = next->agent;
    if (a.socket != b.socket || a.admin_socket != b.admin_socket || a.audit_log != b.audit_log ||
        a.state_dir != b.state_dir || a.max_concurrent != b.max_concurrent) {
        log_warn("reload: [agent] settings changed; they take effect at the next restart");
    }
    if (running.metrics.textfile != next->metrics.textfile || running.metrics.interval != next->metrics.interval) {
        log_warn("reload: [metrics] settings changed; they take effect at the next restart");
    }
    log_info("reload: [posture] collectors keep running as started; changes to them take effect at the next restart");
    log_config_warnings(*next);
    std::string version = next->version;
    size_t rules = next->rules.size();
    StepUpSettings step_up_settings = next->step_up;
    RolloutSettings rollout = next->rollout;
    auto engine =
        Engine::create(std::make_shared<const Config>(std::move(*next)), audit, recent, last_answers, posture);
    if (!engine) {
        log_event(Event::ReloadRefused, LogLevel::Error, "reload refused, keeping the running policy: {}",
                  engine.error().message);
        count_config_reload(false);
        return;
    }
    slot.set(std::move(*engine));
    step_up.configure(step_up_settings);
    publish_rollout(rollout);
    log_event(Event::ReloadOk, LogLevel::Info, "reloaded {}: {} rules, policy {}", path, rules, version);
    count_config_reload(true);
}

// The metrics file's writer, or null when [metrics] textfile is unset. The
// gauges are read from what vigild holds right before each write; the last
// write, at exit, says vigil_up 0.
std::unique_ptr<MetricsTextfile> start_metrics(const MetricsSettings& settings, EngineSlot& slot, SessionWatch& watch,
                                               Grants& grants) {
    if (settings.textfile.empty()) return nullptr;
    auto sample = [&slot, &watch, &grants](bool final) {
        GaugeSample g;
        g.sessions_live = watch.list().size();
        g.grants_live = grants.list().size();
        if (auto e = slot.get()) g.signals = e->posture_snapshot();
        g.up = !final;
        sample_gauges(vigil_metrics(), g);
    };
    auto out = std::make_unique<MetricsTextfile>(MetricsTextfileSettings{settings.textfile, settings.interval},
                                                 vigil_metrics(), sample);
    out->start();
    log_info("metrics: writing {} every {}s", settings.textfile, settings.interval.count());
    return out;
}

void note_stale_signals(StaleSignals& stale, posture::SignalStore& posture, Engine& engine) {
    auto fallback = engine.config().posture.max_age;
    for (const std::string& name : stale.update(posture.snapshot(), std::chrono::system_clock::now(), fallback)) {
        log_event(Event::SignalStale, LogLevel::Warning,
                  "posture: {} is stale (older than its max_age); requirements on it now fail", name);
    }
}

// Break-glass uses pam_vigil.so spooled while vigild could not be reached:
// into the trail, the journal and the metrics. Each file goes once the
// trail holds its record; a failed write leaves the rest for the next pass.
void take_break_glass(const std::string& dir, Engine& engine) {
    std::vector<std::string> problems;
    std::vector<BreakGlassUse> uses = take_break_glass_uses(dir, problems);
    for (const std::string& p : problems) log_warn("break-glass spool: {}", p);
    for (const BreakGlassUse& u : uses) {
        if (!engine.append_to_trail(to_json(u))) return;
        ::unlink(u.file.c_str());
        log_event(Event::BreakGlassUsed, LogLevel::Warning,
                  "break-glass: {} (group {}) was let through for {} from {} at {} while vigild could not be asked "
                  "({}); recorded by pam_vigil, now in the trail",
                  u.user, u.group, u.service, u.rhost.empty() ? "local" : u.rhost, rfc3339(u.at), u.why);
        count_break_glass(u.service);
        vigil_health().break_glass_used({u.at, u.user, u.service, u.why});
    }
}

// Half of WatchdogSec= when systemd asked for keep-alives, else 0.
int watchdog_interval_ms() {
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return 0;
    return static_cast<int>(std::max<uint64_t>(usec / 2000, 1));
}

UniqueFd block_signals_into_fd() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    // Blocked before any worker thread exists, so every thread inherits it.
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    signal(SIGPIPE, SIG_IGN);
    return UniqueFd(signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
}

// What the registry found on disk at start, for the trail.
void audit_load_report(const SessionLoadReport& report, Engine& engine) {
    if (report.problem) log_error("sessions: {}", report.problem->message);
    log_info("sessions: {} live session(s) restored", report.loaded);
    for (const LiveSession& s : report.ended_while_down) {
        record_session_end(engine, s, "",
                           fmt::format("session {} ended while vigild was down (process {} is gone)", s.id, s.pid));
    }
}

// Every connection waiting for a worker or for its "busy" answer holds a
// descriptor, and systemd starts services with a soft limit of 1024: take
// the hard limit it allows.
void raise_descriptor_limit() {
    rlimit r{};
    if (::getrlimit(RLIMIT_NOFILE, &r) != 0 || r.rlim_cur >= r.rlim_max) return;
    r.rlim_cur = r.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &r) != 0) log_warn("cannot raise the descriptor limit: {}", strerror(errno));
}

int serve(const Options& opt, Config config) {
    UniqueFd signals = block_signals_into_fd();  // before any thread exists
    raise_descriptor_limit();
    log_config_warnings(config);
    if (auto made = make_state_dir(config.agent.state_dir); !made) {
        log_error("cannot create state_dir: {}", made.error().message);
        return 1;
    }
    auto audit = AuditLog::open(config.agent.audit_log);
    if (!audit) return log_error("{}", audit.error().message), 1;
    // The engine first: a config it refuses (a token file others can read)
    // must stop vigild before it claims the sockets.
    auto running = std::make_shared<const Config>(std::move(config));
    RecentDecisions recent;
    PdpCache last_answers;
    posture::SignalStore posture;
    auto engine = Engine::create(running, audit->get(), &recent, &last_answers, &posture);
    if (!engine) return log_error("{}", engine.error().message), 1;
    EngineSlot slot;
    slot.set(std::move(*engine));
    publish_rollout(running->rollout);
    StepUpCoordinator step_up;
    step_up.configure(running->step_up);
    // Sessions that were live when vigild stopped are enforced again; those
    // that ended meanwhile are written to the trail.
    auto registry = SessionRegistry::open(running->agent.state_dir);
    if (!registry) return log_error("{}", registry.error().message), 1;
    // After the registry checked state_dir. Not fatal: the module then only
    // logs its break-glass uses.
    const std::string break_glass_dir = running->agent.state_dir + "/" + kBreakGlassDirName;
    if (auto made = make_break_glass_dir(running->agent.state_dir); !made) log_error("{}", made.error().message);
    take_break_glass(break_glass_dir, *slot.get());
    auto break_glass_checked = std::chrono::steady_clock::now();
    Grants grants(running->grants);
    SessionWatch watch(
        **registry, {std::chrono::duration_cast<std::chrono::milliseconds>(running->sessions.revoke_grace)},
        [&] { return slot.get(); },
        {running->sessions.warn_before, running->sessions.deny_grace, running->sessions.contain}, &grants);
    audit_load_report((*registry)->load_report(), *slot.get());
    for (const LiveSession& s : (*registry)->load_report().ended_while_down) watch.session_over(s);
    PostureReaction reaction(slot, posture, step_up, watch);
    posture.on_change([&slot, &reaction](const posture::Signal& s, const std::string& before) {
        if (!is_ticking(s, slot.get()->config()))
            log_info("posture: {} changed from \"{}\" to \"{}\"", s.name, before, s.value);
        reaction.look();
    });
    // Answers under a policy the PDP has not named before: what it decided
    // under the old one (sessions, cached answers) is decided again.
    vigil_health().on_pdp_policy_change([&slot, &watch](const std::string& version) {
        log_info("pdp: policy version {} is new; re-deciding live sessions", version);
        if (auto e = slot.get()) e->forget_cached_answers();
        watch.redecide_all();
    });
    // Declared after the watch, so destroyed before it (and after the server).
    struct ListenerReset {
        ~ListenerReset() { vigil_health().on_pdp_policy_change(nullptr); }
    } listener_reset;
    watch.start();
    auto collectors = make_collectors(running->posture, posture);
    for (auto& c : collectors) c->start();
    // Sockets systemd holds for us (vigild.socket) survive our restarts;
    // the others are bound here.
    auto passed = activated_sockets(running->agent);
    if (!passed) return log_error("{}", passed.error().message), 1;
    // Passed sockets belong to systemd: they are not unlinked at exit.
    std::vector<std::string> bound_here;
    auto own_or_bind = [&bound_here](UniqueFd& fd, const std::string& path, mode_t mode) -> Result<UniqueFd> {
        if (fd) return std::move(fd);
        bound_here.push_back(path);
        return listen_unix(path, mode);
    };
    auto pam = own_or_bind(passed->pam, running->agent.socket, 0600);
    if (!pam) return log_error("{}", pam.error().message), 1;
    auto admin = own_or_bind(passed->admin, running->agent.admin_socket, 0600);
    if (!admin) return log_error("{}", admin.error().message), 1;
    auto grant_sock = own_or_bind(passed->grant, running->agent.grant_socket, 0666);
    if (!grant_sock) return log_error("{}", grant_sock.error().message), 1;
    if (bound_here.size() < 3) log_info("sockets: {} passed by systemd (socket activation)", 3 - bound_here.size());
    for (int fd : {pam->get(), admin->get(), grant_sock->get()}) fcntl(fd, F_SETFL, O_NONBLOCK);
    // Before the server: destroyed after it, so the last write counts the
    // requests it finished on the way out.
    auto metrics = start_metrics(running->metrics, slot, watch, grants);
    Server server({running->agent.max_concurrent, running->agent.read_timeout, &step_up, &watch, &grants},
                  [&] { return slot.get(); });

    log_event(Event::AgentStarted, LogLevel::Info, "listening on {} (pam) and {} (admin); {} rules, policy {}",
              running->agent.socket, running->agent.admin_socket, running->rules.size(), running->version);
    sd_notify(0, "READY=1");
    int watchdog_ms = watchdog_interval_ms();
    StaleSignals stale;
    auto fed = std::chrono::steady_clock::time_point{};
    auto stale_checked = std::chrono::steady_clock::time_point{};
    for (bool stop = false; !stop;) {
        // The watchdog is fed from the loop that accepts requests: if it
        // wedges, systemd restarts vigild instead of PAM timing out forever.
        // Twice per interval, not once per request: each feed wakes PID 1.
        auto now = std::chrono::steady_clock::now();
        if (watchdog_ms > 0 && now - fed >= std::chrono::milliseconds(watchdog_ms / 2)) {
            sd_notify(0, "WATCHDOG=1");
            fed = now;
        }
        pollfd fds[5] = {{pam->get(), POLLIN, 0},
                         {admin->get(), POLLIN, 0},
                         {grant_sock->get(), POLLIN, 0},
                         {signals.get(), POLLIN, 0},
                         {server.arrivals_fd(), POLLIN, 0}};
        int wait_ms = std::min(watchdog_ms > 0 ? std::max(watchdog_ms / 2, 1) : kStaleCheckMs, kStaleCheckMs);
        for (auto at : {server.next_expiry(), reaction.due_at()}) {
            if (!at) continue;
            auto until = std::chrono::ceil<std::chrono::milliseconds>(*at - now).count();
            wait_ms = static_cast<int>(std::clamp<long long>(until, 0, wait_ms));
        }
        if (::poll(fds, 5, wait_ms) < 0) continue;
        if (fds[4].revents & POLLIN) server.take_arrivals();
        server.expire_arrivals();
        now = std::chrono::steady_clock::now();
        if (now - stale_checked >= std::chrono::milliseconds(kStaleCheckMs)) {
            note_stale_signals(stale, posture, *slot.get());
            stale_checked = now;
            reaction.look();
        } else if (auto due = reaction.due_at(); due && now >= *due) {
            reaction.look();
        }
        if (now - break_glass_checked >= kBreakGlassCheck) {
            take_break_glass(break_glass_dir, *slot.get());
            break_glass_checked = now;
        }
        if (fds[0].revents & POLLIN) server.accept_from(pam->get(), Listener::Pam);
        if (fds[1].revents & POLLIN) server.accept_from(admin->get(), Listener::Admin);
        if (fds[2].revents & POLLIN) server.accept_from(grant_sock->get(), Listener::Grant);
        signalfd_siginfo si{};
        while ((fds[3].revents & POLLIN) && ::read(signals.get(), &si, sizeof si) == sizeof si) {
            if (si.ssi_signo == SIGHUP) {
                sd_notify(0, "RELOADING=1");
                std::string before = slot.get()->policy_version();
                reload(opt.config, *running, audit->get(), &recent, &last_answers, &posture, step_up, slot);
                reaction.rebase();
                // What the old policy allowed, the new one decides again.
                if (std::string after = slot.get()->policy_version(); after != before) {
                    log_info("policy: {} replaces {}; re-deciding live sessions", after, before);
                    watch.redecide_all();
                }
                sd_notify(0, "READY=1");
            } else {
                stop = true;
            }
        }
    }
    sd_notify(0, "STOPPING=1");
    log_event(Event::AgentStopping, LogLevel::Info, "stopping: finishing requests in flight");
    for (const std::string& path : bound_here) ::unlink(path.c_str());
    // ~Server finishes the requests in hand (each bounded by its timeouts);
    // then ~MetricsTextfile writes the final counts with vigil_up 0.
    return 0;
}

int run(int argc, char** argv) {
    Options opt;
    int code = 0;
    if (!parse_args(argc, argv, opt, code)) return code;
    if (opt.debug) set_log_level(LogLevel::Debug);
    auto config = load_config(opt.config);
    if (!config) {
        std::fprintf(stderr, "%s\n", config.error().message.c_str());
        return 1;
    }
    if (opt.check) {
        // Everything vigild would refuse at start-up, --check refuses too.
        auto engine = Engine::create(std::make_shared<const Config>(*config), nullptr, nullptr, nullptr);
        if (!engine) {
            std::fprintf(stderr, "%s\n", engine.error().message.c_str());
            return 1;
        }
        std::printf("%s: ok, %zu rules, policy %s\n", opt.config.c_str(), config->rules.size(),
                    config->version.c_str());
        // The drop-ins read, in the order they were merged.
        for (size_t i = 1; i < config->files.size(); ++i) std::printf("  + %s\n", config->files[i].c_str());
        for (const std::string& w : config->warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
        if (std::string w = user_claim_warning(config->step_up.device);
            config->step_up.device_configured && !w.empty()) {
            std::fprintf(stderr, "warning: %s\n", w.c_str());
        }
        return 0;
    }
    return serve(opt, std::move(*config));
}

}  // namespace
}  // namespace vigil

int main(int argc, char** argv) {
    try {
        return vigil::run(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "vigild: fatal: %s\n", e.what());
        return 1;
    }
}
