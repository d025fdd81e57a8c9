// Posture from CrowdStrike Falcon: the Zero Trust Assessment the sensor
// writes to data.zta (see falcon_zta.h), and whether the sensor runs in
// Reduced Functionality Mode (`falconctl -g --rfm-state`, see falcon_rfm.h).
//
//   FalconSettings s;
//   s.zta_file = "/Library/Application Support/Crowdstrike/ZeroTrustAssessment/data.zta";
//   FalconCollector c(s, store);
//   c.start();   ...   c.stop();
//
// Signals: falcon.zta.overall, falcon.zta.os, falcon.zta.sensor_config,
// falcon.zta.age (seconds since the assessment was issued),
// falcon.zta.verified ("true" when the token's signature was checked with
// public_key, "false" when no public_key is set), falcon.rfm
// ("true"/"false"). The two sources fail apart: an unreadable, untrusted,
// malformed, badly signed or expired data.zta makes the falcon.zta.*
// signals missing and leaves falcon.rfm alone, and the reverse. falconctl
// is run only while it exists at the configured path; without it
// falcon.rfm is missing.
//
// Trust: data.zta is read only when root or owner owns it and every
// directory above it and nobody else can write them; falconctl is run only
// when root owns it the same way (trusted_path.h). With public_key set
// (CrowdStrike's key, PEM), a token whose signature does not verify is
// refused; without it the scores are published unverified and
// falcon.zta.verified = "false" says so in every decision's trail and in
// the posture the PDP receives.
//
// Where data.zta lives: macOS and Windows sensors write it under
// .../CrowdStrike/ZeroTrustAssessment/data.zta once ZTA file distribution is
// enabled for the customer; where (and whether) a Linux sensor does depends
// on its version, so zta_file has no default.
#ifndef VIGIL_POSTURE_FALCON_COLLECTOR_H
#define VIGIL_POSTURE_FALCON_COLLECTOR_H

#include <chrono>
#include <string>

#include "collector.h"
#include "interval_thread.h"
#include "result.h"
#include "signal_group.h"
#include "signal_store.h"

namespace vigil::posture {

struct FalconSettings {
    std::string zta_file;                                  // data.zta; empty: not read
    std::string falconctl = "/opt/CrowdStrike/falconctl";  // empty: RFM state not asked
    std::chrono::milliseconds timeout{5000};               // for one falconctl run
    std::chrono::milliseconds interval{30000};
    std::chrono::seconds max_age{0};  // its signals' Signal::max_age; 0 = [posture] max_age
    std::string public_key;           // PEM key or certificate data.zta must be signed with; empty: not checked
    std::string owner;                // besides root, who may own data.zta (name or uid); empty: root only
};

// Ok when at least one source is named, paths are absolute,
// 0 < timeout <= interval and owner a user name or uid.
Status validate(const FalconSettings& s);

class FalconCollector : public Collector {
public:
    FalconCollector(FalconSettings settings, SignalStore& store);
    ~FalconCollector() override;

    void start() override;
    void stop() override;
    // One round: read data.zta, ask falconctl. Tests call it directly.
    void collect_once();

private:
    void collect_zta();
    void collect_rfm();
    // true: token verified with public_key; false: no public_key set.
    Result<bool> check_signature(const std::string& token) const;

    FalconSettings s_;
    SignalGroup zta_;
    SignalGroup rfm_;
    IntervalThread thread_;
};

}  // namespace vigil::posture

#endif
