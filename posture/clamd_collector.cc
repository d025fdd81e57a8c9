#include "clamd_collector.h"

#include <fmt/format.h>

#include "clamd_version.h"
#include "trusted_ids.h"
#include "unix_exchange.h"

namespace vigil::posture {
namespace {

// PONG and a version line are short; clamd has no reason to send more.
constexpr size_t kMaxAnswer = 1024;

// The z prefix makes clamd read a NUL-terminated command and answer in kind.
std::string command(const char* name) { return std::string("z") + name + '\0'; }

}  // namespace

Status validate(const ClamdSettings& s) {
    if (s.socket.empty() || s.socket[0] != '/') return err("posture.clamd.socket must be an absolute path");
    if (s.timeout.count() <= 0 || s.timeout > s.interval) {
        return err("posture.clamd: timeout must be positive and at most the interval");
    }
    if (!valid_account(s.peer_user)) return err("posture.clamd.peer_user must be a user name or a uid");
    return Ok{};
}

ClamdCollector::ClamdCollector(ClamdSettings settings, SignalStore& store)
    : s_(std::move(settings)),
      group_(store, "clamd", fmt::format("clamd posture ({})", s_.socket), s_.max_age),
      thread_(s_.interval, [this] { collect_once(); }) {}

ClamdCollector::~ClamdCollector() { stop(); }

void ClamdCollector::start() { thread_.start(); }

void ClamdCollector::stop() { thread_.stop(); }

void ClamdCollector::collect_once() {
    const SignalValues dead{{"clamd.alive", "false"}};
    const TrustedIds peer = trusted_ids(s_.peer_user);
    auto pong = exchange_unix({s_.socket, command("PING"), s_.timeout, kMaxAnswer, peer}, end_at_nul);
    if (!pong) return group_.fail(pong.error().message, dead);
    if (auto ok = check_clamd_pong(*pong); !ok) return group_.fail(ok.error().message, dead);

    Reading r;
    auto version = exchange_unix({s_.socket, command("VERSION"), s_.timeout, kMaxAnswer, peer}, end_at_nul);
    if (version) {
        auto parsed = parse_clamd_version(*version, std::chrono::system_clock::now());
        if (parsed) {
            r = std::move(*parsed);
        } else {
            r.problems.push_back(parsed.error().message);
        }
    } else {
        r.problems.push_back("VERSION: " + version.error().message);
    }
    r.values["clamd.alive"] = "true";
    group_.publish(r);
}

}  // namespace vigil::posture
