// The route table — the one closed list of what each socket answers — and
// its handlers. A handler unwraps the frame, calls what it serves (the
// engine, step-up, sessions, grants, the status report) and wraps the
// answer; the work is done beside what it serves, not here.
#include <fmt/format.h>

#include "dry_run_command.h"
#include "grant_json.h"
#include "health.h"
#include "invoker.h"
#include "log.h"
#include "request_codec.h"
#include "rule.h"
#include "server.h"
#include "session_json.h"
#include "snapshot_json.h"
#include "status_report.h"
#include "step_up_flow.h"
#include "sudo_conf.h"

namespace vigil {

using Answer = Server::Answer;

const Server::Route Server::kRoutes[] = {
    {wire::Kind::Account, Listener::Pam, &Server::answer_pam_request},
    {wire::Kind::Auth, Listener::Pam, &Server::answer_pam_request},
    {wire::Kind::OpenSession, Listener::Pam, &Server::answer_pam_request},
    {wire::Kind::CloseSession, Listener::Pam, &Server::answer_pam_request},
    {wire::Kind::StepUpAnswer, Listener::Pam, &Server::answer_step_up_answer},
    {wire::Kind::SudoCommand, Listener::Pam, &Server::answer_pam_request},
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

namespace {

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

Answer encode_step_up(wire::Kind kind, const StepUpNext& next) {
    return next.prompt ? encode_challenge(kind, *next.prompt) : encode_pam_answer(kind, next.record);
}

// The request a PAM frame carries, sent by the peer the kernel names.
Result<Request> request_in(const Frame& f, const PeerCredentials& peer) {
    auto req = decode_pam_request(static_cast<wire::Kind>(f.kind), f.payload);
    if (!req) return req;
    req->peer = peer;
    req->received = f.arrived;  // time spent waiting in the backlog and for a worker is the module's budget too
    return req;
}

}  // namespace

// ----------------------------------------------------------------- PAM ----

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
    auto req = request_in(f, peer);
    if (!req) return req.error();
    auto engine = engine_();
    if (auto s = resolve_invoker(*req, "/proc", engine->account_lookups(true)); !s) {
        log_warn("pam socket: peer pid {}: {} for {}: {}", peer.pid, req->service, req->user, s.error().message);
        // The session is over either way: file its end under PAM_USER.
        if (req->phase != Phase::CloseSession) {
            return refuse(kind, std::move(*req), "vigil cannot tell who is asking", s.error().message);
        }
    }
    // Rules name programs by path, also as their symlinks resolve.
    if (req->sudo) req->sudo->resolved = resolved_path(req->sudo->path);
    StepUpCoordinator* step_up = options_.step_up;
    bool asks = req->phase == Phase::Account || req->phase == Phase::Auth || req->phase == Phase::Command;
    if (step_up && asks) step_up->attach(*req);
    DecisionRecord r = engine->decide(*req);
    if (SessionWatch* w = options_.sessions) {
        // Report mode enforces no limit: its sessions are not watched.
        if (req->phase == Phase::OpenSession && r.decision.outcome == Outcome::Allow && !r.report) w->opened(r);
        if (req->phase == Phase::CloseSession) w->closed(peer.pid);
    }
    // The auth phase and sudo's approval plugin can ask the person: a
    // step-up opens a challenge there (the account phase cannot).
    bool can_ask = kind == wire::Kind::Auth || kind == wire::Kind::SudoCommand;
    if (can_ask && r.decision.outcome == Outcome::StepUp && step_up && !r.report) {
        return encode_step_up(kind, continue_step_up(*engine, *step_up, step_up->open(r.request, r.decision)));
    }
    return encode_pam_answer(kind, r);
}

Server::Begun Server::begin_without_waiting(const Frame& f, const PeerCredentials& peer) {
    auto kind = static_cast<wire::Kind>(f.kind);
    if (kind != wire::Kind::Account) return {};
    auto req = request_in(f, peer);
    if (!req) return {};  // a worker refuses it, with the reason
    auto engine = engine_();
    // Names from the cache only: a miss, like an error, is a worker's (which
    // may wait for NSS, and refuses with the reason).
    if (!resolve_invoker(*req, "/proc", engine->account_lookups(false))) return {};
    std::optional<CachedIdentity> who = engine->identity_without_waiting(*req);
    if (!who) return {};
    // Only now: attach uses up a step-up proof kept for this process.
    if (options_.step_up) options_.step_up->attach(*req);
    auto begun = engine->decide_or_pend(*req, std::move(*who));
    if (auto* pending = std::get_if<PendingDecision>(&begun)) return {std::nullopt, engine, std::move(*pending)};
    return {encode_pam_answer(kind, std::get<DecisionRecord>(begun)), nullptr, std::nullopt};
}

Answer Server::answer_step_up_answer(const Frame& f, const PeerCredentials& peer) {
    auto a = decode_step_up_answer(f.payload);
    if (!a) return a.error();
    if (!options_.step_up) return err("step-up answer, but step-up is not running");
    auto engine = engine_();
    StepUpReply reply =
        options_.step_up->answer(a->challenge_id, a->response, peer, std::chrono::steady_clock::now() + a->budget);
    // The decision that follows is bounded by this exchange's budget, not
    // by the Auth request's, which ran out while the person typed.
    reply.request.received = std::chrono::steady_clock::now();
    reply.request.budget = a->budget;
    return encode_step_up(wire::Kind::StepUpAnswer, continue_step_up(*engine, *options_.step_up, std::move(reply)));
}

// --------------------------------------------------------------- admin ----

Answer Server::answer_admin_decide(const Frame& f, const PeerCredentials&) {
    nlohmann::json q = parse_json_field(f);
    if (!q.is_object()) return err("admin decide: no JSON object");
    Request req = dry_run_request(optional_string(q, "user"), optional_string(q, "service"),
                                  optional_string(q, "rhost"), optional_string(q, "tty"));
    if (req.user.empty() || req.service.empty()) return err("admin decide: user and service are required");
    if (std::string command = optional_string(q, "command"); !command.empty()) {
        if (!is_sudo_service(req.service)) return err("admin decide: a command is decided for service sudo only");
        auto added = add_dry_run_command(req, command, optional_string(q, "runas"), optional_string(q, "cwd"));
        if (!added) return err("admin decide: " + added.error().message);
    }
    return build_frame(wire::answer_to(wire::Kind::AdminDecide),
                       {{wire::Tag::Json, json_text(engine_()->decide(req))}});
}

Answer Server::answer_admin_ping(const Frame&, const PeerCredentials&) {
    auto uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_);
    nlohmann::ordered_json j = {
        {"status", "ok"},
        {"policy_version", engine_()->policy_version()},
        {"uptime_seconds", uptime.count()},
        {"answered", answered_.load()},
        {"answered_at_once", answered_at_once_.load()},
        {"workers", workers()},
    };
    return json_answer(wire::Kind::AdminPing, j);
}

Answer Server::answer_admin_posture(const Frame&, const PeerCredentials&) {
    auto engine = engine_();
    return json_answer(wire::Kind::AdminPosture,
                       posture::to_json(engine->posture_snapshot(), engine->config().posture.max_age,
                                        std::chrono::system_clock::now()));
}

Answer Server::answer_admin_sessions(const Frame&, const PeerCredentials&) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    if (options_.sessions) {
        for (const LiveSession& s : options_.sessions->list()) list.push_back(to_json(s));
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
            auto b = bound_to.find(g.id);
            list.push_back(to_json(g, b != bound_to.end() ? b->second : std::string()));
        }
    }
    return json_answer(wire::Kind::AdminGrants, {{"grants", list}});
}

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
        if (auto c = pdp->batch_counts()) f.pdp_calls = StatusFacts::PdpCalls{c->calls, c->batches, c->waiting};
    }
    f.health = vigil_health().snapshot();
    f.signals = engine->posture_snapshot();
    f.default_max_age = c.posture.max_age;
    f.sessions = options_.sessions ? options_.sessions->list().size() : 0;
    f.grants = options_.grants ? options_.grants->list().size() : 0;
    f.recent_problems = recent_problems();
    f.default_mode = to_string(c.rollout.mode);
    for (const auto& [service, mode] : c.rollout.services) f.service_modes.emplace_back(service, to_string(mode));
    SudoConfCheck sudo = check_sudo_conf(kSudoConf);
    f.sudo = {to_string(c.sudo.approval), kSudoConf, sudo.loads, sudo.plugin, sudo.problem};
    return json_answer(wire::Kind::AdminStatus, build_status(f));
}

// --------------------------------------------------------------- grant ----

// The policy lives in grant_request.cc; here only the frame is unwrapped.
// Whatever its JSON holds is answered there, and a malformed one counted
// with the other refusals rather than logged each time.
Answer Server::answer_grant_request(const Frame& f, const PeerCredentials& peer) {
    return json_answer(wire::Kind::GrantRequest, grant_requests_.answer(parse_json_field(f), peer));
}

}  // namespace vigil
