// Host facts that cost a file read each: pending reboot, kernel taint,
// AppArmor, SELinux and Secure Boot, re-read on an interval.
//
//   HostFactsSettings s;              // s.root = "/tmp/fake-root" in tests
//   HostCollector c(s, store);
//   c.start();   ...   c.stop();
//
// Signals (each read on its own; one that cannot be read is missing, the
// others are not; a file is read only when root owns it and every directory
// above it and nobody else can write them, see trusted_path.h):
//   host.reboot_required  "true" while /run/reboot-required exists, else "false"
//   host.kernel_tainted   /proc/sys/kernel/tainted as is ("0" = untainted;
//                         otherwise a bit mask, see the kernel's tainted-kernels doc)
//   host.apparmor         /sys/module/apparmor/parameters/enabled: Y "enabled",
//                         N "disabled", no such file "absent"
//   host.selinux          /sys/fs/selinux/enforce: 1 "enforcing", 0 "permissive",
//                         no such file "absent"
//   host.secure_boot      the SecureBoot EFI variable's value byte (after its 4
//                         attribute bytes): 1 "enabled", else "disabled"; "unknown"
//                         when efivarfs shows nothing (BIOS boot, not mounted)
#ifndef VIGIL_POSTURE_HOST_COLLECTOR_H
#define VIGIL_POSTURE_HOST_COLLECTOR_H

#include <chrono>
#include <string>

#include "collector.h"
#include "interval_thread.h"
#include "result.h"
#include "signal_group.h"
#include "signal_store.h"
#include "small_file.h"

namespace vigil::posture {

struct HostFactsSettings {
    std::string root = "/";  // prefix of every path read; tests point it at a temp dir
    std::chrono::milliseconds interval{30000};
    std::chrono::seconds max_age{0};  // its signals' Signal::max_age; 0 = [posture] max_age
};

// Ok when root is absolute and the interval positive.
Status validate(const HostFactsSettings& s);

// What each file says, as the signal's value; an error for content that
// makes no sense (a taint that is not a number, enforce = "7").
Result<std::string> kernel_taint_value(const SmallFile& tainted);
Result<std::string> apparmor_value(const SmallFile& enabled);
Result<std::string> selinux_value(const SmallFile& enforce);
// efivars_listed: efivarfs shows any variable at all.
Result<std::string> secure_boot_value(bool efivars_listed, const SmallFile& secure_boot_var);

class HostCollector : public Collector {
public:
    HostCollector(HostFactsSettings settings, SignalStore& store);
    ~HostCollector() override;

    void start() override;
    void stop() override;
    // One round: read every fact, publish what could be read. Tests call it directly.
    void collect_once();

private:
    std::string path(const char* absolute) const;

    HostFactsSettings s_;
    SignalGroup group_;
    IntervalThread thread_;
};

}  // namespace vigil::posture

#endif
