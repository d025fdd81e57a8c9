#include "osquery_collector.h"

#include <fmt/format.h>

#include "osquery_rows.h"
#include "run_command.h"
#include "signal_name.h"
#include "trusted_path.h"

namespace vigil::posture {
namespace {

constexpr size_t kMaxOutputLimit = 16 * 1024 * 1024;

// osqueryi's stderr starts with the reason ("Error: no such table: x").
std::string first_line(const std::string& s) {
    std::string line = s.substr(0, s.find('\n'));
    return line.empty() ? "no message" : line;
}

}  // namespace

Status validate(const OsquerySettings& s) {
    if (s.binary.empty() || s.binary[0] != '/') return err("posture.osquery.binary must be an absolute path");
    if (s.queries.empty()) return err("posture.osquery: no queries");
    for (const auto& [suffix, q] : s.queries) {
        if (auto ok = check_signal_name_part(suffix, "posture.osquery query name"); !ok) return ok;
        if (q.sql.find_first_not_of(" \t\r\n") == std::string::npos) {
            return err(fmt::format("posture.osquery query \"{}\": empty SQL", suffix));
        }
    }
    if (s.timeout.count() <= 0 || s.timeout > s.interval) {
        return err("posture.osquery: timeout must be positive and at most the interval");
    }
    if (s.max_output == 0 || s.max_output > kMaxOutputLimit) {
        return err("posture.osquery: max_output must be 1 byte to 16 MiB");
    }
    return Ok{};
}

OsqueryCollector::OsqueryCollector(OsquerySettings settings, SignalStore& store)
    : s_(std::move(settings)), thread_(s_.interval, [this] { collect_once(); }) {
    for (const auto& [suffix, q] : s_.queries) {
        groups_[suffix] =
            std::make_unique<SignalGroup>(store, "osquery", fmt::format("osquery posture \"{}\"", suffix), s_.max_age);
    }
}

OsqueryCollector::~OsqueryCollector() { stop(); }

void OsqueryCollector::start() { thread_.start(); }

void OsqueryCollector::stop() { thread_.stop(); }

void OsqueryCollector::collect_once() {
    for (const auto& [suffix, q] : s_.queries) {
        if (thread_.stop_requested()) return;
        run_query(suffix, q, *groups_.at(suffix));
    }
}

void OsqueryCollector::run_query(const std::string& suffix, const OsqueryQuery& q, SignalGroup& group) {
    // vigild runs it as root, and its answer decides who gets in: a binary
    // anyone else could have replaced is not run.
    if (auto trusted = check_trusted_program(s_.binary, trusted_ids("")); !trusted) {
        return group.fail(trusted.error().message);
    }
    auto run = run_command({s_.binary, "--json", q.sql}, s_.timeout, s_.max_output);
    if (!run) return group.fail(run.error().message);
    if (run->exit_code != 0) {
        return group.fail(fmt::format("osqueryi exited with status {}: {}", run->exit_code, first_line(run->err)));
    }
    auto value = parse_osquery_rows(run->out, q.column);
    if (!value) return group.fail(value.error().message);
    group.publish({{{"osquery." + suffix, *value}}, {}, {}});
}

}  // namespace vigil::posture
