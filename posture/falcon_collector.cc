#include "falcon_collector.h"

#include <fmt/format.h>
#include <unistd.h>

#include "falcon_rfm.h"
#include "falcon_zta.h"
#include "jws_signature.h"
#include "log.h"
#include "run_command.h"
#include "small_file.h"
#include "trusted_ids.h"
#include "trusted_path.h"

namespace vigil::posture {
namespace {

// A ZTA token is a few KiB; anything near this is not one.
constexpr size_t kMaxZtaBytes = 64 * 1024;
constexpr size_t kMaxFalconctlOutput = 4096;
// A PEM public key or certificate is a few KiB.
constexpr size_t kMaxKeyBytes = 64 * 1024;

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

}  // namespace

Status validate(const FalconSettings& s) {
    if (s.zta_file.empty() && s.falconctl.empty()) return err("posture.falcon: set zta_file, falconctl or both");
    if (!s.zta_file.empty() && s.zta_file[0] != '/') return err("posture.falcon.zta_file must be an absolute path");
    if (!s.falconctl.empty() && s.falconctl[0] != '/') return err("posture.falcon.falconctl must be an absolute path");
    if (s.timeout.count() <= 0 || s.timeout > s.interval) {
        return err("posture.falcon: timeout must be positive and at most the interval");
    }
    if (!s.public_key.empty() && s.public_key[0] != '/')
        return err("posture.falcon.public_key must be an absolute path");
    if (!valid_account(s.owner)) return err("posture.falcon.owner must be a user name or a uid");
    return Ok{};
}

FalconCollector::FalconCollector(FalconSettings settings, SignalStore& store)
    : s_(std::move(settings)),
      zta_(store, "falcon", fmt::format("Falcon ZTA posture ({})", s_.zta_file), s_.max_age),
      rfm_(store, "falcon", fmt::format("Falcon RFM posture ({} -g --rfm-state)", s_.falconctl), s_.max_age),
      thread_(s_.interval, [this] { collect_once(); }) {}

FalconCollector::~FalconCollector() { stop(); }

void FalconCollector::start() {
    if (!s_.zta_file.empty() && s_.public_key.empty()) {
        log_warn(
            "Falcon ZTA posture ({}): no public_key set, so data.zta's signature is not checked; "
            "its signals carry falcon.zta.verified = false",
            s_.zta_file);
    }
    thread_.start();
}

void FalconCollector::stop() { thread_.stop(); }

void FalconCollector::collect_once() {
    if (!s_.zta_file.empty()) collect_zta();
    if (!s_.falconctl.empty()) collect_rfm();
}

void FalconCollector::collect_zta() {
    auto file = read_small_file(s_.zta_file, kMaxZtaBytes, trusted_ids(s_.owner));
    if (!file) return zta_.fail(file.error().message);
    if (!file->exists) return zta_.fail(fmt::format("no file at {} (is ZTA enabled for this sensor?)", s_.zta_file));
    // Before anything in the token is believed.
    auto verified = check_signature(file->text);
    if (!verified) return zta_.fail(verified.error().message);
    auto reading = parse_falcon_zta(file->text, std::chrono::system_clock::now());
    if (!reading) return zta_.fail(reading.error().message);
    reading->values["falcon.zta.verified"] = *verified ? "true" : "false";
    zta_.publish(*reading);
}

// The key is read at every check, so a key the admin replaces applies from
// the next interval on.
Result<bool> FalconCollector::check_signature(const std::string& token) const {
    if (s_.public_key.empty()) return false;
    auto pem = read_small_file(s_.public_key, kMaxKeyBytes, trusted_ids(""));
    if (!pem) return err(fmt::format("public_key: {}", pem.error().message));
    if (!pem->exists) return err(fmt::format("public_key: no file at {}", s_.public_key));
    auto key = JwsPublicKey::from_pem(pem->text);
    if (!key) return err(fmt::format("public_key {}: {}", s_.public_key, key.error().message));
    if (auto ok = key->verify(token); !ok) return err(fmt::format("data.zta refused: {}", ok.error().message));
    return true;
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
    rfm_.publish({{{"falcon.rfm", *rfm}}, {}, {}});
}

}  // namespace vigil::posture
