#include "socket_collector.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "json_path.h"
#include "json_value_end.h"
#include "signal_name.h"
#include "trusted_ids.h"
#include "unix_exchange.h"

namespace vigil::posture {
namespace {

constexpr size_t kMaxResponseLimit = 16 * 1024 * 1024;

}  // namespace

Status validate(const SocketSettings& s) {
    if (auto ok = check_signal_name_part(s.name, "posture.socket name"); !ok) return ok;
    if (s.path.empty() || s.path[0] != '/')
        return err(fmt::format("posture.socket \"{}\": path must be absolute", s.name));
    if (s.fields.empty()) return err(fmt::format("posture.socket \"{}\": fields is empty", s.name));
    for (const auto& [suffix, path] : s.fields) {
        auto what = fmt::format("posture.socket \"{}\" field", s.name);
        if (auto ok = check_signal_name_part(suffix, what); !ok) return ok;
        if (suffix == "reachable") return err(fmt::format("{} \"reachable\": the collector publishes that one", what));
        if (auto ok = check_json_path(path); !ok)
            return err(fmt::format("{} \"{}\": {}", what, suffix, ok.error().message));
    }
    if (s.timeout.count() <= 0 || s.timeout > s.interval) {
        return err(fmt::format("posture.socket \"{}\": timeout must be positive and at most the interval", s.name));
    }
    if (s.max_response == 0 || s.max_response > kMaxResponseLimit) {
        return err(fmt::format("posture.socket \"{}\": max_response must be 1 byte to 16 MiB", s.name));
    }
    if (!valid_account(s.peer_user)) {
        return err(fmt::format("posture.socket \"{}\": peer_user must be a user name or a uid", s.name));
    }
    return Ok{};
}

Result<Reading> parse_socket_answer(std::string_view answer, const SocketSettings& s) {
    // No exceptions: a malformed answer yields a discarded value.
    auto doc = nlohmann::json::parse(answer.begin(), answer.end(), nullptr, false);
    if (doc.is_discarded()) {
        if (answer.find_first_not_of(" \t\r\n") == std::string_view::npos) return err("empty answer");
        return err("answer is not JSON");
    }
    Reading r;
    for (const auto& [suffix, path] : s.fields) {
        auto text = json_path_text(doc, path);
        if (text) {
            r.values[s.name + "." + suffix] = std::move(*text);
        } else {
            r.problems.push_back(text.error().message);
        }
    }
    r.values[s.name + ".reachable"] = "true";
    return r;
}

SocketCollector::SocketCollector(SocketSettings settings, SignalStore& store)
    : s_(std::move(settings)),
      group_(store, "socket", fmt::format("socket posture \"{}\" ({})", s_.name, s_.path), s_.max_age),
      thread_(s_.interval, [this] { collect_once(); }) {}

SocketCollector::~SocketCollector() { stop(); }

void SocketCollector::start() { thread_.start(); }

void SocketCollector::stop() { thread_.stop(); }

std::string SocketCollector::reachable_name() const { return s_.name + ".reachable"; }

void SocketCollector::collect_once() {
    JsonValueEnd scanner;
    auto end = [&scanner](std::string_view all, size_t from) { return scanner.feed(all.substr(from)); };
    auto answer = exchange_unix({s_.path, s_.request, s_.timeout, s_.max_response, trusted_ids(s_.peer_user)}, end);
    if (!answer) return group_.fail(answer.error().message, {{reachable_name(), "false"}});
    auto reading = parse_socket_answer(*answer, s_);
    if (!reading) return group_.fail(reading.error().message, {{reachable_name(), "false"}});
    group_.publish(*reading);
}

}  // namespace vigil::posture
