#include "posture/falcon_collector.h"

#include <fmt/format.h>
#include <unistd.h>

#include "posture/falcon_rfm.h"
#include "posture/falcon_zta.h"
#include "posture/run_command.h"
#include "posture/small_file.h"
#include "posture/trusted_ids.h"
#include "posture/trusted_path.h"

namespace vigil::posture {
namespace {

// A ZTA token is a few KiB; anything near this is not one.
constexpr size_t kMaxZtaBytes = 64 * 1024;
constexpr size_t kMaxFalconctlOutput = 4096;

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

}  // namespace

Status validate(const FalconSettings& s) {
    if (s.zta_file.empty() && s.falconctl.empty()) return err("posture.falcon: set zta_file, falconctl or both");
    if (!s.zta_file.empty() && s.zta_file[0] != '/') return err("posture.falcon.zta_file must be an absolute path");
    if (!s.falconctl.empty() && s.falconctl[0] != '/') return err("posture.falcon.falconctl must be an absolute path");
    if (s.timeout.count() <= 0 || s.timeout > s.interval) {
        return err("posture.falcon: timeout must be positive and at most the interval");
    }
    if (!valid_account(s.owner)) return err("posture.falcon.owner must be a user name or a uid");
    return Ok{};
}

FalconCollector::FalconCollector(FalconSettings settings, SignalStore& store)
    : s_(std::move(settings)),
      zta_(store, "falcon", fmt::format("Falcon ZTA posture ({})", s_.zta_file), s_.max_age),
      rfm_(store, "falcon", fmt::format("Falcon RFM posture ({} -g --rfm-state)", s_.falconctl), s_.max_age),
      thread_(s_.interval, [this] { collect_once(); }) {}

FalconCollector::~FalconCollector() { stop(); }

void FalconCollector::start() { thread_.start(); }

void FalconCollector::stop() { thread_.stop(); }

void FalconCollector::collect_once() {
    if (!s_.zta_file.empty()) collect_zta();
    if (!s_.falconctl.empty()) collect_rfm();
}

void FalconCollector::collect_zta() {
    auto file = read_small_file(s_.zta_file, kMaxZtaBytes, trusted_ids(s_.owner));
    if (!file) return zta_.fail(file.error().message);
    if (!file->exists) return zta_.fail(fmt::format("no file at {} (is ZTA enabled for this sensor?)", s_.zta_file));
    auto reading = parse_falcon_zta(file->text, std::chrono::system_clock::now());
    if (!reading) return zta_.fail(reading.error().message);
    zta_.publish(*reading);
}

void FalconCollector::collect_rfm() {
    // Not installed is not a failure worth a warning per interval; the
    // state change is logged once and falcon.rfm stays missing.
    if (::access(s_.falconctl.c_str(), X_OK) != 0) {
        return rfm_.fail(fmt::format("{} is absent or not executable; falcon.rfm not collected", s_.falconctl));
    }
    // Run as root, and its answer decides who gets in: only root's own.
    if (auto trusted = check_trusted_program(s_.falconctl, trusted_ids("")); !trusted) {
        return rfm_.fail(trusted.error().message);
    }
    auto run = run_command({s_.falconctl, "-g", "--rfm-state"}, s_.timeout, kMaxFalconctlOutput);
    if (!run) return rfm_.fail(run.error().message);
    if (run->exit_code != 0) {
        return rfm_.fail(fmt::format("falconctl exited with status {}: {}", run->exit_code, first_line(run->err)));
    }
    auto rfm = parse_rfm_state(run->out);
    if (!rfm) return rfm_.fail(rfm.error().message);
    rfm_.publish({{{"falcon.rfm", *rfm}}, {}});
}

}  // namespace vigil::posture
