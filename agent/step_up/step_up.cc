#include "step_up.h"

#include <fmt/format.h>
#include <sys/random.h>

#include <condition_variable>
#include <thread>

#include "device_flow.h"
#include "id_token.h"
#include "log.h"
#include "protocol.h"
#include "purpose_check.h"
#include "session_registry.h"
#include "ssh_auth_info.h"
#include "terminal_qr.h"
#include "totp_store.h"

namespace vigil {

using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kChallengeLife = std::chrono::minutes(5);
// How long a proof waits for the account phase of its own transaction.
constexpr auto kTransactionLife = std::chrono::minutes(2);
constexpr size_t kMaxChallenges = 1024;
constexpr size_t kMaxChallengesPerUser = 3;  // one user's abandoned prompts cannot fill the table
constexpr int kMaxTries = 3;                 // wrong codes or unacceptable reasons per challenge
// Leave the module time to hear the answer.
constexpr auto kAnswerMargin = std::chrono::milliseconds(300);

std::string random_id() {
    unsigned char b[16];
    if (getrandom(b, sizeof b, 0) != static_cast<ssize_t>(sizeof b)) return "";
    std::string out;
    for (unsigned char c : b) out += fmt::format("{:02x}", c);
    return out;
}

// When q's module stops waiting, less the time it needs to hear the answer.
// A request that does not say (budget 0) gets the module's default timeout.
Clock::time_point answer_deadline(const Request& q) {
    auto budget = q.budget.count() > 0 ? q.budget : std::chrono::milliseconds(wire::kDefaultClientTimeoutMs);
    return q.received + budget - kAnswerMargin;
}

// What a remembered proof is bound to beyond user and service: the SSH key
// that logged in (sshd), or the terminal and the kernel session it was given
// on (sudo, su: the session of the process that asked, and its leader's
// start time, as sudo's own tty tickets do). Empty when there is none, and
// then nothing is remembered past the transaction: sshd's PAM_TTY is always
// "ssh" and a jump host or NAT puts many people behind one address, and a
// sudo without a terminal has nothing to tell one caller from another.
std::string proof_binding(const Request& q) {
    if (q.service == "sshd") {
        auto info = parse_ssh_auth_info(q.ssh_auth_info);
        std::string key = info ? info->publickey_fingerprint() : "";
        return key.empty() ? "" : "key " + key;
    }
    if (q.tty.empty() || !q.peer) return "";
    auto self = read_proc_stat(q.peer->pid);
    if (!self || self->tty_nr == 0 || self->session <= 1) return "";
    auto leader = read_proc_stat(self->session);
    if (!leader) return "";
    return fmt::format("tty {} session {} {}", q.tty, self->session, leader->start_time);
}

// Empty: this request has no binding, so no window applies to it.
std::string window_key(const Request& q) {
    std::string binding = proof_binding(q);
    if (binding.empty()) return "";
    return q.user + "\n" + q.service + "\n" + q.tty + "\n" + q.rhost + "\n" + binding;
}

}  // namespace

struct DevicePoll {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<DeviceOutcome> outcome;
    std::unique_ptr<DeviceFlow> flow;
};

enum class Stage { Purpose, Totp, Device, Finished };

struct StepUpCoordinator::Challenge {
    // An abandoned device sign-in stops polling the provider.
    ~Challenge() {
        if (device && device->flow) device->flow->cancel();
    }
    Request request;
    pid_t peer = 0;
    Stage stage = Stage::Purpose;
    std::string method;  // "totp" | "device" | ""
    bool needs_purpose = false;
    int tries = 0;
    bool busy = false;  // an answer is being handled (the device wait runs unlocked)
    Clock::time_point expires;
    std::optional<StepUpProof> proof;
    std::string purpose;
    std::shared_ptr<DevicePoll> device;
};

StepUpCoordinator::StepUpCoordinator() = default;
StepUpCoordinator::~StepUpCoordinator() = default;

void StepUpCoordinator::configure(const StepUpSettings& s) {
    std::lock_guard lock(mu_);
    settings_ = s;
    purpose_re_ = std::regex(s.purpose.pattern, std::regex::ECMAScript);  // validated by the config reader
    totp_ = s.totp_configured ? std::make_unique<TotpStore>(s.totp) : nullptr;
    if (std::string w = user_claim_warning(s.device); s.device_configured && !w.empty()) log_warn("{}", w);
}

void StepUpCoordinator::attach(Request& q) {
    {
        // Most requests find nothing kept: then no /proc reads (window_key)
        // for them. A proof kept meanwhile is as if kept just after this.
        std::lock_guard lock(mu_);
        if (by_process_.empty() && by_window_.empty()) return;
    }
    std::string window = window_key(q);
    std::lock_guard lock(mu_);
    auto now = Clock::now();
    auto apply = [&](const Proof& p) {
        if (p.until < now || p.user != q.user || p.service != q.service) return false;
        if (p.tty != q.tty || p.rhost != q.rhost || p.ruser != q.ruser) return false;
        if (p.mfa && !q.mfa) q.mfa = p.mfa;
        if (!p.purpose.empty() && q.purpose.empty()) q.purpose = p.purpose;
        return true;
    };
    pid_t pid = q.peer ? q.peer->pid : 0;
    if (pid > 0) {
        // The same process, not one that reused its pid since. Its account
        // phase uses the proof up: a program the process later execs (sudo
        // again, in the same pid) must prove anew.
        auto it = by_process_.find(pid);
        if (it != by_process_.end() && same_process_alive(pid, it->second.start_time) && apply(it->second) &&
            q.phase == Phase::Account) {
            by_process_.erase(it);
        }
    }
    if (window.empty()) return;
    if (auto it = by_window_.find(window); it != by_window_.end()) apply(it->second);
}

void StepUpCoordinator::remember(const Request& q) {
    if (!q.mfa && q.purpose.empty()) return;
    std::string window = window_key(q);
    std::lock_guard lock(mu_);
    auto now = Clock::now();
    Proof p{q.mfa, q.purpose, q.user, q.service, q.tty, q.rhost, q.ruser, now + kTransactionLife, 0};
    if (q.peer && q.peer->pid > 0) {
        auto self = read_proc_stat(q.peer->pid);
        if (self) {
            p.start_time = self->start_time;
            by_process_[q.peer->pid] = p;
        }
        // sshd: the account phase runs in the monitor, the auth child's
        // parent. Only sshd: sudo's parent is the user's shell.
        auto parent = self && q.service == "sshd" ? read_proc_stat(self->ppid) : std::nullopt;
        if (parent && parent->pid > 1) {
            p.start_time = parent->start_time;
            by_process_[parent->pid] = p;
        }
    }
    if (settings_.remember.count() > 0 && !window.empty()) {
        p.until = now + settings_.remember;
        by_window_[window] = p;
    }
}

void StepUpCoordinator::forget_all() {
    std::lock_guard lock(mu_);
    if (!by_process_.empty() || !by_window_.empty() || !challenges_.empty()) {
        log_info("step-up: posture changed; forgetting {} proof(s) and {} open challenge(s)",
                 by_process_.size() + by_window_.size(), challenges_.size());
    }
    by_process_.clear();
    by_window_.clear();
    challenges_.clear();
}

void StepUpCoordinator::sweep(Clock::time_point now) {
    std::erase_if(challenges_, [&](const auto& kv) { return kv.second->expires < now && !kv.second->busy; });
    std::erase_if(by_process_, [&](const auto& kv) { return kv.second.until < now; });
    std::erase_if(by_window_, [&](const auto& kv) { return kv.second.until < now; });
}

StepUpReply StepUpCoordinator::fail(const std::string& id, const std::string& user, const std::string& admin) {
    StepUpReply r;
    r.kind = StepUpReply::Kind::Fail;
    r.reason_user = user;
    r.reason_admin = admin;
    if (auto it = challenges_.find(id); it != challenges_.end()) {
        r.request = it->second->request;
        challenges_.erase(it);
    }
    return r;
}

StepUpReply StepUpCoordinator::open(const Request& q, const Decision& d) {
    std::unique_lock lock(mu_);
    auto now = Clock::now();
    sweep(now);
    StepUpReply none;
    none.request = q;
    size_t mine = 0;
    for (const auto& [id, c] : challenges_) mine += c->request.user == q.user ? 1 : 0;
    if (challenges_.size() >= kMaxChallenges || mine >= kMaxChallengesPerUser) {
        none.reason_user = "access denied: too many step-ups in progress, try again in a moment";
        none.reason_admin = fmt::format("step-up refused: {} challenges open", challenges_.size());
        return none;
    }
    std::string id = random_id();
    if (id.empty() || !q.peer) {
        none.reason_user = "access denied: the second factor cannot be asked for";
        none.reason_admin = id.empty() ? "step-up: no randomness for a challenge id" : "step-up: no peer";
        return none;
    }
    auto c = std::make_unique<Challenge>();
    c->request = q;
    c->peer = q.peer->pid;
    c->method = d.step_up_method;
    c->needs_purpose = d.needs_purpose;
    c->expires = now + kChallengeLife;
    c->stage = Stage::Purpose;
    auto& ref = *c;
    challenges_[id] = std::move(c);
    return finish_stage(lock, id, next_stage(id, ref), answer_deadline(q));
}

// Moves c to the first thing still unproven and asks for it.
StepUpReply StepUpCoordinator::next_stage(const std::string& id, Challenge& c) {
    c.tries = 0;
    if (c.stage == Stage::Purpose && (!c.needs_purpose || !c.purpose.empty())) {
        c.stage = c.method == "totp" ? Stage::Totp : c.method == "device" ? Stage::Device : Stage::Finished;
    }
    StepUpReply r;
    r.kind = StepUpReply::Kind::Ask;
    r.next.challenge_id = id;
    switch (c.stage) {
        case Stage::Purpose:
            r.next.prompt = settings_.purpose.prompt;
            r.next.echo = true;
            return r;
        case Stage::Totp:
            if (!totp_) return fail(id, "access denied: TOTP is not set up on this host", "[step_up.totp] missing");
            if (!totp_->enrolled(c.request.user)) {
                return fail(id,
                            fmt::format("access denied: no authenticator is enrolled for {} on this host (an admin "
                                        "runs: vigilctl totp enroll {})",
                                        c.request.user, c.request.user),
                            "step-up totp: user not enrolled");
            }
            r.next.prompt = "Authenticator code: ";
            return r;
        case Stage::Device:
            // The provider is asked without the lock held (see start_device):
            // an empty prompt tells the caller to do that.
            c.busy = true;
            return r;
        case Stage::Finished: break;
    }
    StepUpReply done;
    done.kind = StepUpReply::Kind::Done;
    done.request = c.request;
    if (c.proof) done.request.mfa = c.proof;
    if (!c.purpose.empty()) done.request.purpose = c.purpose;
    challenges_.erase(id);
    return done;
}

// Called with lock held on a reply from next_stage; when that reply is the
// device sentinel, asks the provider for a code with the lock released (one
// slow provider must not stall every other decision), by deadline (the
// module's), then shows the code.
StepUpReply StepUpCoordinator::finish_stage(std::unique_lock<std::mutex>& lock, const std::string& id, StepUpReply r,
                                            Clock::time_point deadline) {
    if (r.kind != StepUpReply::Kind::Ask || !r.next.prompt.empty()) return r;
    if (!settings_.device_configured) {
        return fail(id, "access denied: sign-in with the identity provider is not set up on this host",
                    "[step_up.device] missing");
    }
    DeviceFlowSettings s = settings_.device;
    std::string user = challenges_.at(id)->request.user;
    lock.unlock();
    auto flow = DeviceFlow::begin(s, user, deadline);
    lock.lock();
    auto it = challenges_.find(id);
    if (it == challenges_.end()) return fail(id, "access denied: the step-up expired", "challenge forgotten");
    it->second->busy = false;
    if (!flow) {
        return fail(id, "access denied: the identity provider cannot be reached",
                    "step-up device flow: " + flow.error().message);
    }
    return start_device(id, *it->second, std::move(*flow));
}

StepUpReply StepUpCoordinator::start_device(const std::string& id, Challenge& c, std::unique_ptr<DeviceFlow> flow) {
    auto poll = std::make_shared<DevicePoll>();
    poll->flow = std::move(flow);
    const DeviceCode& code = poll->flow->code();
    c.device = poll;
    c.expires = code.expires_at;  // the code's life is the challenge's
    // Poll from now on, so the approval is known by the time the person
    // comes back and presses Enter. The thread ends at the code's expiry at
    // the latest; the shared state outlives an abandoned challenge.
    std::thread([poll, until = code.expires_at] {
        DeviceOutcome o = poll->flow->wait(until);
        std::lock_guard lock(poll->mu);
        poll->outcome = std::move(o);
        poll->cv.notify_all();
    }).detach();
    StepUpReply r;
    r.kind = StepUpReply::Kind::Ask;
    r.next.challenge_id = id;
    std::string uri = code.verification_uri_complete.empty() ? code.verification_uri : code.verification_uri_complete;
    r.next.info = fmt::format("Approve this request with your identity provider:\n  open {}\n  and enter the code {}\n",
                              code.verification_uri, code.user_code);
    if (!code.verification_uri_complete.empty()) {
        r.next.info += fmt::format("  (or open {} , or scan:)\n", code.verification_uri_complete);
    }
    if (auto qr = terminal_qr(uri)) r.next.info += *qr + "\n";
    r.next.prompt = "Press Enter once approved: ";
    r.next.echo = true;
    return r;
}

StepUpReply StepUpCoordinator::answer(const std::string& id, const std::string& response, const PeerCredentials& peer,
                                      Clock::time_point deadline) {
    std::unique_lock lock(mu_);
    sweep(Clock::now());
    auto it = challenges_.find(id);
    StepUpReply unknown;
    unknown.reason_user = "access denied: the step-up expired or was already answered";
    if (it == challenges_.end()) {
        unknown.reason_admin = "step-up answer for an unknown or expired challenge";
        return unknown;
    }
    Challenge& c = *it->second;
    if (c.peer != peer.pid || c.busy) {
        // A challenge belongs to the process that opened it: nobody else may
        // answer it (or race its owner).
        unknown.reason_admin = fmt::format("step-up answer for challenge of pid {} from pid {}", c.peer, peer.pid);
        unknown.request = c.request;
        return unknown;
    }
    switch (c.stage) {
        case Stage::Purpose: return finish_stage(lock, id, answer_purpose(id, c, response), deadline - kAnswerMargin);
        case Stage::Totp: return answer_totp(id, c, response);
        case Stage::Device: {
            c.busy = true;
            std::shared_ptr<DevicePoll> poll = c.device;
            lock.unlock();
            {
                std::unique_lock wait(poll->mu);
                poll->cv.wait_until(wait, deadline - kAnswerMargin, [&] { return poll->outcome.has_value(); });
            }
            lock.lock();
            auto again = challenges_.find(id);
            if (again == challenges_.end()) return unknown;  // forgotten meanwhile (posture changed)
            again->second->busy = false;
            return answer_device(id, *again->second, deadline);
        }
        case Stage::Finished: break;
    }
    return fail(id, "access denied", "step-up answer to a finished challenge");
}

StepUpReply StepUpCoordinator::answer_purpose(const std::string& id, Challenge& c, const std::string& response) {
    bool ok = check_purpose(response, purpose_re_) == PurposeVerdict::Ok;
    if (ok) {
        c.purpose = response;
        c.stage = Stage::Purpose;
        return next_stage(id, c);
    }
    if (++c.tries >= kMaxTries) return fail(id, "access denied: no acceptable reason given", "purpose refused");
    StepUpReply r;
    r.kind = StepUpReply::Kind::Ask;
    r.next = {id, "That reason is not accepted: " + settings_.purpose.hint + ".", settings_.purpose.prompt, true};
    return r;
}

StepUpReply StepUpCoordinator::answer_totp(const std::string& id, Challenge& c, const std::string& response) {
    TotpCheck check = totp_->verify(c.request.user, response, std::chrono::system_clock::now());
    const std::string& user = c.request.user;
    switch (check.verdict) {
        case TotpVerdict::Accepted:
            log_info("step-up: {} proved a TOTP code for {}", user, c.request.service);
            c.proof = StepUpProof{"totp", std::chrono::system_clock::now(), "", {}, ""};
            c.stage = Stage::Finished;
            return next_stage(id, c);
        case TotpVerdict::Wrong:
        case TotpVerdict::Replayed: {
            bool replay = check.verdict == TotpVerdict::Replayed;
            log_warn("step-up: {} gave a {} TOTP code for {}", user, replay ? "used" : "wrong", c.request.service);
            if (++c.tries >= kMaxTries) {
                return fail(id, "access denied: wrong authenticator code",
                            fmt::format("totp: {} wrong codes ({})", c.tries, check.detail));
            }
            StepUpReply r;
            r.kind = StepUpReply::Kind::Ask;
            r.next = {id, replay ? "That code was used already; wait for the next one." : "Wrong code, try again.",
                      "Authenticator code: ", false};
            return r;
        }
        case TotpVerdict::LockedOut: {
            auto left = std::chrono::duration_cast<std::chrono::minutes>(check.locked_until -
                                                                         std::chrono::system_clock::now()) +
                        std::chrono::minutes(1);
            log_warn("step-up: {} is locked out of TOTP: {}", user, check.detail);
            return fail(id, fmt::format("access denied: too many wrong codes; try again in {} min", left.count()),
                        "totp: locked out: " + check.detail);
        }
        case TotpVerdict::NotEnrolled:
            return fail(id, fmt::format("access denied: no authenticator is enrolled for {} on this host", user),
                        "totp: not enrolled");
        case TotpVerdict::StoreError: break;
    }
    log_error("step-up: TOTP store: {}", check.detail);
    return fail(id, "access denied: the second factor cannot be checked right now", "totp store: " + check.detail);
}

StepUpReply StepUpCoordinator::answer_device(const std::string& id, Challenge& c, Clock::time_point) {
    std::optional<DeviceOutcome> o;
    {
        std::lock_guard lock(c.device->mu);
        o = c.device->outcome;
    }
    // The poller gives up with Pending only at the code's expiry.
    if (!o || o->state == DeviceState::Pending) {
        if (!o && Clock::now() < c.expires) {
            StepUpReply r;
            r.kind = StepUpReply::Kind::Ask;
            r.next = {id, "Not approved yet.", "Press Enter once approved: ", true};
            return r;
        }
        return fail(id, "access denied: the sign-in code expired", "device flow: expired");
    }
    switch (o->state) {
        case DeviceState::Approved:
            log_info("step-up: {} signed in with the identity provider (sub {})", c.request.user, o->claims.subject);
            c.proof = StepUpProof{"device", std::chrono::system_clock::now(), o->claims.subject, o->claims.amr,
                                  o->claims.acr};
            c.stage = Stage::Finished;
            return next_stage(id, c);
        case DeviceState::Denied: return fail(id, "access denied: the sign-in was declined", "device flow: " + o->why);
        case DeviceState::Expired: return fail(id, "access denied: the sign-in code expired", "device flow: " + o->why);
        default: break;
    }
    return fail(id, "access denied: the sign-in was not accepted", "device flow: " + o->why);
}

}  // namespace vigil
