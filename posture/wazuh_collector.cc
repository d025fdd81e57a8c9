#include "wazuh_collector.h"

#include <fmt/format.h>

#include "small_file.h"
#include "trusted_ids.h"
#include "wazuh_state.h"

namespace vigil::posture {
namespace {

// The real file is well under 1 KiB.
constexpr size_t kMaxStateBytes = 16 * 1024;

}  // namespace

Status validate(const WazuhSettings& s) {
    if (s.state_file.empty() || s.state_file[0] != '/') return err("posture.wazuh.state_file must be an absolute path");
    if (s.interval.count() <= 0) return err("posture.wazuh.interval must be positive");
    if (s.stale_after.count() < 0) return err("posture.wazuh.stale_after must not be negative");
    if (!valid_account(s.owner)) return err("posture.wazuh.owner must be a user name or a uid");
    return Ok{};
}

WazuhCollector::WazuhCollector(WazuhSettings settings, SignalStore& store)
    : s_(std::move(settings)),
      group_(store, "wazuh", fmt::format("Wazuh posture ({})", s_.state_file), s_.max_age),
      thread_(s_.interval, [this] { collect_once(); }) {}

WazuhCollector::~WazuhCollector() { stop(); }

void WazuhCollector::start() { thread_.start(); }

void WazuhCollector::stop() { thread_.stop(); }

void WazuhCollector::collect_once() {
    auto file = read_small_file(s_.state_file, kMaxStateBytes, trusted_ids(s_.owner));
    if (!file) return group_.fail(file.error().message);
    if (!file->exists)
        return group_.fail(fmt::format("no state file at {} (is wazuh-agentd installed?)", s_.state_file));
    auto now = std::chrono::system_clock::now();
    if (s_.stale_after.count() > 0 && now - file->modified > s_.stale_after) {
        // The same words every interval: the log says it once.
        return group_.fail(
            fmt::format("state file not rewritten for over {} s: is wazuh-agentd running?", s_.stale_after.count()));
    }
    auto reading = parse_wazuh_state(file->text, now);
    if (!reading) return group_.fail(reading.error().message);
    group_.publish(*reading);
}

}  // namespace vigil::posture
