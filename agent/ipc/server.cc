#include "server.h"

#include <fmt/format.h>
#include <sys/socket.h>

#include <algorithm>
#include <system_error>
#include <thread>

#include "health.h"
#include "invoker.h"
#include "log.h"
#include "request_codec.h"
#include "status_report.h"
#include "timestamp.h"
#include "unix_listener.h"

namespace vigil {

using Answer = Result<std::vector<uint8_t>>;

struct Server::Route {
    wire::Kind kind;
    Listener on;
    Answer (Server::*answer)(const Frame&, const PeerCredentials&);
};

namespace {

// Connections allowed past max_concurrent only to be told "busy". Each costs
// a descriptor, and the busy answer takes microseconds; one dropped here goes
// unanswered (the module waits out its deadline), so the allowance is wide:
// 200 clients at once against 64 workers must all hear back (e2e-load).
constexpr size_t kBusyAllowance = 1024;
constexpr std::chrono::milliseconds kWriteTimeout{2000};
// Grant-socket connections in hand at once, and per requesting uid. A grant
// request is rare and quick; a peer that connects and waits out the read
// timeout costs a worker for that long, so these bound what any local user
// can take from the PAM requests.
constexpr int kGrantJobsMax = 4;
constexpr int kGrantJobsPerUid = 2;

const char* listener_name(Listener l) {
    switch (l) {
        case Listener::Pam: return "pam";
        case Listener::Admin: return "admin";
        case Listener::Grant: return "grant";
    }
    return "?";
}

nlohmann::json parse_json_field(const Frame& f) {
    wire::Reader r(f.payload.data(), f.payload.size());
    wire::Tag tag{};
    std::string_view v;
    while (r.next(tag, v)) {
        if (tag == wire::Tag::Json) return nlohmann::json::parse(v, nullptr, false);
    }
    return nlohmann::json(nlohmann::json::value_t::discarded);
}

Answer json_answer(wire::Kind kind, const nlohmann::ordered_json& j) {
    std::string text = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return build_frame(wire::answer_to(kind), {{wire::Tag::Json, text}});
}

std::string optional_string(const nlohmann::json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

const Server::Route Server::kRoutes[] = {
    {wire::Kind::Decide, Listener::Pam, &Server::answer_pam_request},
    {wire::Kind::Authenticate, Listener::Pam, &Server::answer_pam_request},
    {wire::Kind::SessionOpen, Listener::Pam, &Server::answer_pam_request},
    {wire::Kind::SessionClose, Listener::Pam, &Server::answer_pam_request},
    {wire::Kind::StepUpAnswer, Listener::Pam, &Server::answer_step_up_answer},
    {wire::Kind::AdminDecide, Listener::Admin, &Server::answer_admin_decide},
    {wire::Kind::AdminPing, Listener::Admin, &Server::answer_admin_ping},
    {wire::Kind::AdminPosture, Listener::Admin, &Server::answer_admin_posture},
    {wire::Kind::AdminSessions, Listener::Admin, &Server::answer_admin_sessions},
    {wire::Kind::AdminRevoke, Listener::Admin, &Server::answer_admin_revoke},
    {wire::Kind::AdminGrants, Listener::Admin, &Server::answer_admin_grants},
    {wire::Kind::AdminStatus, Listener::Admin, &Server::answer_admin_status},
    {wire::Kind::GrantRequest, Listener::Grant, &Server::answer_grant_request},
};

const Server::Route* Server::find_route(uint16_t kind, Listener on) {
    for (const auto& r : kRoutes) {
        if (static_cast<uint16_t>(r.kind) == kind && r.on == on) return &r;
    }
    return nullptr;
}

Server::Server(ServerOptions options, EngineSource engine)
    : options_(options), engine_(std::move(engine)), grant_requests_(options_.grants, options_.sessions, engine_) {}

Server::~Server() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    work_.notify_all();
    for (auto& t : workers_) t.join();
    if (busy_responder_.joinable()) busy_responder_.join();
}

void Server::accept_from(int listen_fd, Listener which) {
    for (;;) {
        UniqueFd conn(::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC));
        if (!conn) return;  // EAGAIN: nothing more pending
        auto peer = peer_credentials(conn.get());
        if (!peer) {
            log_warn("{} socket: {}; closing", listener_name(which), peer.error().message);
            continue;
        }
        if (peer->uid != 0 && which != Listener::Grant) {
            log_warn("{} socket: refused peer pid {} uid {}: only root may connect", listener_name(which), peer->pid,
                     peer->uid);
            continue;
        }
        if (which == Listener::Grant && !admit_grant(*peer)) continue;
        dispatch(Job{std::move(conn), which, *peer});
    }
}

// An idle worker takes the job; else a new worker is started, up to
// max_concurrent; else it waits in a short line (a worker is usually about
// to finish: a client that just had its answer may reconnect before its
// worker counts itself idle again); else the busy responder answers "busy".
void Server::dispatch(Job job) {
    std::unique_lock lock(mu_);
    size_t line = std::max<size_t>(8, static_cast<size_t>(options_.max_concurrent) / 4);
    if (idle_workers_ > static_cast<int>(jobs_.size()) ||
        (static_cast<int>(workers_.size()) < options_.max_concurrent && add_worker()) || jobs_.size() < line) {
        jobs_.push_back(std::move(job));
    } else if (busy_jobs_.size() < kBusyAllowance) {
        busy_jobs_.push_back(std::move(job));
    } else {
        log_warn("{} socket: {} requests waiting to be told busy; dropping peer pid {}", listener_name(job.which),
                 busy_jobs_.size(), job.peer.pid);
        release_grant_locked(job);
        return;
    }
    lock.unlock();
    work_.notify_all();
}

bool Server::add_worker() {
    try {
        workers_.emplace_back([this] { worker_loop(jobs_, false); });
        ++idle_workers_;
        if (!busy_responder_.joinable()) busy_responder_ = std::thread([this] { worker_loop(busy_jobs_, true); });
        return true;
    } catch (const std::system_error& e) {
        // Out of threads (RLIMIT_NPROC, TasksMax): serve with the workers we have.
        log_error("cannot start a worker thread: {}", e.what());
        return !workers_.empty();
    }
}

// Closed at once when the grant socket already holds its share of workers
// (logged at the 1st, 2nd, 4th... refusal).
bool Server::admit_grant(const PeerCredentials& peer) {
    std::lock_guard lock(mu_);
    int& mine = grant_jobs_of_[peer.uid];
    if (grant_jobs_ < kGrantJobsMax && mine < kGrantJobsPerUid) {
        ++grant_jobs_;
        ++mine;
        return true;
    }
    if (mine == 0) grant_jobs_of_.erase(peer.uid);
    uint64_t n = ++grant_refused_;
    if ((n & (n - 1)) == 0) {
        log_warn(
            "grant socket: refused peer pid {} uid {}: {} grant connections in hand ({} of them its own); {} refused "
            "so far",
            peer.pid, peer.uid, grant_jobs_, mine, n);
    }
    return false;
}

void Server::release_grant(const Job& job) {
    std::lock_guard lock(mu_);
    release_grant_locked(job);
}

void Server::release_grant_locked(const Job& job) {
    if (job.which != Listener::Grant) return;
    --grant_jobs_;
    auto it = grant_jobs_of_.find(job.peer.uid);
    if (it != grant_jobs_of_.end() && --it->second <= 0) grant_jobs_of_.erase(it);
}

// Logged at the 1st, 2nd, 4th, 8th... busy answer: visible, never a flood.
void Server::note_busy(Listener which, const PeerCredentials& peer) {
    uint64_t n = ++busy_answers_;
    if ((n & (n - 1)) == 0) {
        log_warn(
            "{} socket: all {} workers busy; answered peer pid {} \"busy\" ({} busy answers so "
            "far)",
            listener_name(which), options_.max_concurrent, peer.pid, n);
    }
}

void Server::worker_loop(std::deque<Job>& queue, bool busy) {
    std::unique_lock lock(mu_);
    for (;;) {
        work_.wait(lock, [&] { return stopping_ || !queue.empty(); });
        if (queue.empty()) return;  // stopping, and nothing left in hand
        Job job = std::move(queue.front());
        queue.pop_front();
        if (!busy) --idle_workers_;
        lock.unlock();
        handle(job, busy);
        job.conn.reset();
        release_grant(job);
        lock.lock();
        if (!busy) ++idle_workers_;
    }
}

// The one place where a connection's failures are caught and logged.
void Server::handle(Job& job, bool busy) {
    const UniqueFd& conn = job.conn;
    Listener which = job.which;
    const PeerCredentials& peer = job.peer;
    const Frame* frame = nullptr;
    try {
        auto read = read_frame(conn.get(), options_.read_timeout);
        if (!read) {
            log_warn("{} socket: peer pid {}: {}; closing", listener_name(which), peer.pid, read.error().message);
            return;
        }
        if (!*read) {
            log_debug("{} socket: peer pid {} closed without a request", listener_name(which), peer.pid);
            return;
        }
        frame = &**read;
        const Route* route = find_route(frame->kind, which);
        if (route == nullptr) {
            log_warn("{} socket: peer pid {}: request kind {:#x} is not served here", listener_name(which), peer.pid,
                     frame->kind);
            if (which == Listener::Pam && frame->kind < wire::kAnswerBit) {
                deliver(job, *refuse(*frame, peer, fmt::format("request kind {:#x} not served", frame->kind)));
            }
            return;
        }
        if (busy) note_busy(which, peer);
        Answer answer = busy && which == Listener::Pam ? Answer(encode_busy_answer(route->kind))
                                                       : (this->*route->answer)(*frame, peer);
        if (!answer) {
            log_warn("{} socket: peer pid {}: bad request: {}{}", listener_name(which), peer.pid,
                     answer.error().message, which == Listener::Pam ? "; denied" : "; closing");
            if (which != Listener::Pam) return;
            answer = refuse(*frame, peer, answer.error().message);
        }
        deliver(job, *answer);
    } catch (const std::exception& e) {
        log_error("{} socket: peer pid {}: {}{}", listener_name(which), peer.pid, e.what(),
                  which == Listener::Pam && frame ? "; denied" : "");
        if (which == Listener::Pam && frame) deliver(job, refusal_to(frame->kind, "internal error"));
    }
}

void Server::deliver(const Job& job, const std::vector<uint8_t>& answer) {
    if (auto s = write_frame(job.conn.get(), answer, kWriteTimeout); !s) {
        log_warn("{} socket: peer pid {}: answer not delivered: {}", listener_name(job.which), job.peer.pid,
                 s.error().message);
    }
    ++answered_;
}

// A PAM request vigil cannot decide (a field too long, a frame that does not
// parse, a step-up answer to no challenge) is answered with a deny, never by
// closing the connection: the module's failmode is only for an agent that is
// gone, and would hand the verdict to the rest of the stack. The deny is
// recorded like any decision.
Answer Server::refuse(const Frame& f, const PeerCredentials& peer, const std::string& why) {
    Request q;
    q.phase = phase_of(static_cast<wire::Kind>(f.kind));
    q.peer = peer;
    q.pid = peer.pid;
    return refuse(static_cast<wire::Kind>(f.kind), std::move(q), "vigil could not read this request", why);
}

Answer Server::refuse(wire::Kind kind, Request q, const std::string& user_why, const std::string& why) {
    Decision d;
    d.reason_user = "access denied: " + user_why;
    d.reason_admin = "request refused: " + why;
    return encode_pam_answer(kind, engine_()->conclude(q, std::move(d), "refused"));
}

Answer Server::answer_pam_request(const Frame& f, const PeerCredentials& peer) {
    auto kind = static_cast<wire::Kind>(f.kind);
    auto req = decode_pam_request(kind, f.payload);
    if (!req) return req.error();
    req->peer = peer;
    if (auto s = resolve_invoker(*req); !s) {
        log_warn("pam socket: peer pid {}: {} for {}: {}", peer.pid, req->service, req->user, s.error().message);
        // The session is over either way: file its end under PAM_USER.
        if (req->phase != Phase::CloseSession) {
            return refuse(kind, std::move(*req), "vigil cannot tell who is asking", s.error().message);
        }
    }
    auto engine = engine_();
    StepUpCoordinator* stepup = options_.stepup;
    if (stepup && (req->phase == Phase::Account || req->phase == Phase::Auth)) stepup->attach(*req);
    DecisionRecord r = engine->decide(*req);
    if (SessionWatch* w = options_.sessions) {
        // Report mode enforces no limit: its sessions are not watched.
        if (req->phase == Phase::OpenSession && r.decision.outcome == Outcome::Allow && !r.report) w->opened(r);
        if (req->phase == Phase::CloseSession) w->closed(peer.pid);
    }
    if (kind == wire::Kind::Authenticate && r.decision.outcome == Outcome::StepUp && stepup && !r.report) {
        return after_step_up(kind, *engine, stepup->open(r.request, r.decision));
    }
    return encode_pam_answer(kind, r);
}

Answer Server::answer_step_up_answer(const Frame& f, const PeerCredentials& peer) {
    auto a = decode_step_up_answer(f.payload);
    if (!a) return a.error();
    if (!options_.stepup) return err("step-up answer, but step-up is not running");
    auto engine = engine_();
    StepUpReply reply =
        options_.stepup->answer(a->challenge_id, a->response, peer, std::chrono::steady_clock::now() + a->budget);
    // The decision that follows is bounded by this exchange's budget, not
    // by the Authenticate request's, which ran out while the person typed.
    reply.request.received = std::chrono::steady_clock::now();
    reply.request.budget = a->budget;
    return after_step_up(wire::Kind::StepUpAnswer, *engine, std::move(reply));
}

// Ask: the next prompt. Fail: a deny, recorded. Done: the request, now
// with its proof, is decided again (the PDP sees context.mfa), and an allow
// is remembered for the account phase.
Answer Server::after_step_up(wire::Kind kind, Engine& engine, StepUpReply reply) {
    switch (reply.kind) {
        case StepUpReply::Kind::Ask: return encode_challenge(kind, reply.next);
        case StepUpReply::Kind::Fail: {
            Decision d;
            d.reason_user = reply.reason_user;
            d.reason_admin = "step-up failed: " + reply.reason_admin;
            return encode_pam_answer(kind, engine.conclude(reply.request, std::move(d)));
        }
        case StepUpReply::Kind::Done: break;
    }
    DecisionRecord r = engine.decide(reply.request);
    if (r.decision.outcome == Outcome::Allow) options_.stepup->remember(reply.request);
    if (r.decision.outcome == Outcome::StepUp)
        return after_step_up(kind, engine, options_.stepup->open(r.request, r.decision));
    return encode_pam_answer(kind, r);
}

Answer Server::answer_admin_decide(const Frame& f, const PeerCredentials&) {
    nlohmann::json q = parse_json_field(f);
    if (!q.is_object()) return err("admin decide: no JSON object");
    Request req = dry_run_request(optional_string(q, "user"), optional_string(q, "service"),
                                  optional_string(q, "rhost"), optional_string(q, "tty"));
    if (req.user.empty() || req.service.empty()) return err("admin decide: user and service are required");
    return json_answer(wire::Kind::AdminDecide, to_json(engine_()->decide(req)));
}

Answer Server::answer_admin_ping(const Frame&, const PeerCredentials&) {
    auto uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_);
    nlohmann::ordered_json j = {
        {"status", "ok"},
        {"policy_version", engine_()->policy_version()},
        {"uptime_seconds", uptime.count()},
        {"answered", answered_.load()},
    };
    return json_answer(wire::Kind::AdminPing, j);
}

Answer Server::answer_admin_posture(const Frame&, const PeerCredentials&) {
    auto engine = engine_();
    auto now = std::chrono::system_clock::now();
    nlohmann::ordered_json signals = nlohmann::ordered_json::array();
    auto fallback = engine->config().posture.max_age;
    for (const auto& s : engine->posture_snapshot()) {
        auto age = std::chrono::duration_cast<std::chrono::milliseconds>(now - s.observed_at).count();
        auto max_age = s.max_age.count() > 0 ? s.max_age : fallback;
        signals.push_back({{"name", s.name},
                           {"value", s.value},
                           {"source", s.source},
                           {"age_ms", age},
                           {"max_age_seconds", max_age.count()}});
    }
    nlohmann::ordered_json j = {{"max_age_seconds", fallback.count()}, {"signals", signals}};
    return json_answer(wire::Kind::AdminPosture, j);
}

}  // namespace vigil

namespace vigil {
namespace {

std::string rfc3339_or_empty(const std::optional<std::chrono::system_clock::time_point>& t) {
    return t ? rfc3339(*t) : "";
}

nlohmann::ordered_json session_json(const LiveSession& s) {
    nlohmann::ordered_json j = {{"id", s.id},
                                {"user", s.user},
                                {"service", s.service},
                                {"tty", s.tty},
                                {"rhost", s.rhost},
                                {"pid", s.pid},
                                {"opened_at", rfc3339(s.opened_at)},
                                {"decision_id", s.decision_id}};
    if (s.xdg_session_id) j["xdg_session_id"] = *s.xdg_session_id;
    if (s.limits.max_until) j["ends_at"] = rfc3339_or_empty(s.limits.max_until);
    if (s.limits.idle_max) j["idle_max_seconds"] = s.limits.idle_max->count();
    if (s.limits.reevaluate_every) j["reevaluate_seconds"] = s.limits.reevaluate_every->count();
    if (s.next_reevaluation) j["next_reevaluation"] = rfc3339_or_empty(s.next_reevaluation);
    if (!s.grant_ids.empty()) j["grants"] = s.grant_ids;
    return j;
}

}  // namespace

Answer Server::answer_admin_sessions(const Frame&, const PeerCredentials&) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    if (options_.sessions) {
        for (const LiveSession& s : options_.sessions->list()) list.push_back(session_json(s));
    }
    return json_answer(wire::Kind::AdminSessions, {{"sessions", list}});
}

Answer Server::answer_admin_revoke(const Frame& f, const PeerCredentials& peer) {
    nlohmann::json q = parse_json_field(f);
    if (!q.is_object()) return err("admin revoke: no JSON object");
    if (!options_.sessions) return err("admin revoke: sessions are not watched");
    std::string id = optional_string(q, "id"), user = optional_string(q, "user");
    std::string why = fmt::format("revoked by an admin (vigilctl, pid {})", peer.pid);
    if (auto reason = optional_string(q, "reason"); !reason.empty()) why += ": " + reason;
    size_t n = 0;
    if (!id.empty())
        n = options_.sessions->revoke(id, why) ? 1 : 0;
    else if (!user.empty())
        n = options_.sessions->revoke_user(user, why);
    else
        return err("admin revoke: give a session id or a user");
    return json_answer(wire::Kind::AdminRevoke, {{"revoked", n}});
}

}  // namespace vigil

namespace vigil {

// The handling lives in grant_request.cc; here only the frame is unwrapped.
// Whatever its JSON holds is answered there, and a malformed one counted
// with the other refusals rather than logged each time.
Answer Server::answer_grant_request(const Frame& f, const PeerCredentials& peer) {
    return json_answer(wire::Kind::GrantRequest, grant_requests_.answer(parse_json_field(f), peer));
}

Answer Server::answer_admin_grants(const Frame&, const PeerCredentials&) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    std::map<std::string, std::string> bound_to;  // grant id -> session id
    if (options_.sessions) {
        for (const LiveSession& s : options_.sessions->list()) {
            for (const std::string& id : s.bound_grants) bound_to[id] = s.id;
        }
    }
    if (options_.grants) {
        for (const ActiveGrant& g : options_.grants->list()) {
            nlohmann::ordered_json j = {{"id", g.id},
                                        {"group", g.group},
                                        {"account", g.account},
                                        {"user", g.user},
                                        {"expires_at", rfc3339(g.expires_at)},
                                        {"reason", g.reason}};
            if (auto b = bound_to.find(g.id); b != bound_to.end()) j["session"] = b->second;
            list.push_back(j);
        }
    }
    return json_answer(wire::Kind::AdminGrants, {{"grants", list}});
}

}  // namespace vigil

namespace vigil {

Answer Server::answer_admin_status(const Frame&, const PeerCredentials&) {
    auto engine = engine_();
    const Config& c = engine->config();
    StatusFacts f;
    f.version = VIGIL_VERSION;
    f.config_path = c.path;
    f.policy_version = engine->policy_version();
    f.uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_);
    f.answered = answered_.load();
    f.pdp_protocol = to_string(c.pdp.protocol);
    if (const PdpClient* pdp = engine->pdp()) {
        const PdpTransport& t = pdp->transport();
        for (size_t i = 0; i < t.urls().size(); ++i)
            f.circuits.emplace_back(t.urls()[i], to_string(t.breaker_state(i)));
    }
    f.health = vigil_health().snapshot();
    f.signals = engine->posture_snapshot();
    f.default_max_age = c.posture.max_age;
    f.sessions = options_.sessions ? options_.sessions->list().size() : 0;
    f.grants = options_.grants ? options_.grants->list().size() : 0;
    f.recent_problems = recent_problems();
    f.default_mode = to_string(c.rollout.mode);
    for (const auto& [service, mode] : c.rollout.services) f.service_modes.emplace_back(service, to_string(mode));
    return json_answer(wire::Kind::AdminStatus, build_status(f));
}

}  // namespace vigil
