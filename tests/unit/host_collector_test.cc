// Host facts read from a fake root: each value, each absent file, each
// damaged one, and that one unreadable fact leaves the others alone.
#include "host_collector.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "posture_testing.h"

using vigil::posture::HostCollector;
using vigil::posture::HostFactsSettings;
using vigil::posture::SignalStore;
using vigil::posture::SmallFile;

using vigil::testing::signal_in;

namespace {

const char* kSecureBoot = "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c";

void put(const std::string& root, const std::string& path, const std::string& text) {
    std::filesystem::create_directories(std::filesystem::path(root + path).parent_path());
    std::ofstream(root + path, std::ios::binary | std::ios::trunc) << text;
}

SmallFile file(const std::string& text) { return {true, text, {}}; }

}  // namespace

TEST_CASE("host fact values") {
    CHECK(*vigil::posture::kernel_taint_value(file("0\n")) == "0");
    CHECK(*vigil::posture::kernel_taint_value(file("4097\n")) == "4097");
    CHECK(!vigil::posture::kernel_taint_value(SmallFile{}));
    CHECK(!vigil::posture::kernel_taint_value(file("")));
    CHECK(!vigil::posture::kernel_taint_value(file("-1")));
    CHECK(!vigil::posture::kernel_taint_value(file(std::string(30, '9'))));
    CHECK(*vigil::posture::apparmor_value(file("Y\n")) == "enabled");
    CHECK(*vigil::posture::apparmor_value(file("N\n")) == "disabled");
    CHECK(*vigil::posture::apparmor_value(SmallFile{}) == "absent");
    CHECK(!vigil::posture::apparmor_value(file("maybe")));
    CHECK(*vigil::posture::selinux_value(file("1")) == "enforcing");
    CHECK(*vigil::posture::selinux_value(file("0")) == "permissive");
    CHECK(*vigil::posture::selinux_value(SmallFile{}) == "absent");
    CHECK(!vigil::posture::selinux_value(file("7")));
    CHECK(*vigil::posture::secure_boot_value(true, file(std::string("\x06\0\0\0\x01", 5))) == "enabled");
    CHECK(*vigil::posture::secure_boot_value(true, file(std::string("\x06\0\0\0\0", 5))) == "disabled");
    CHECK(*vigil::posture::secure_boot_value(true, SmallFile{}) == "disabled");
    CHECK(*vigil::posture::secure_boot_value(false, SmallFile{}) == "unknown");
    CHECK(!vigil::posture::secure_boot_value(true, file(std::string("\x06\0\0", 3))));
}

TEST_CASE("host collector on a hardened UEFI host") {
    std::string root = vigil::testing::posture_temp_dir();
    put(root, "/run/reboot-required", "*** System restart required ***\n");
    put(root, "/proc/sys/kernel/tainted", "0\n");
    put(root, "/sys/module/apparmor/parameters/enabled", "Y\n");
    put(root, "/sys/fs/selinux/enforce", "1");
    put(root, kSecureBoot, std::string("\x06\0\0\0\x01", 5));
    HostFactsSettings s;
    s.root = root + "/";
    REQUIRE(vigil::posture::validate(s));
    SignalStore store;
    HostCollector c(s, store);
    c.collect_once();
    CHECK(signal_in(store, "host.reboot_required") == "true");
    CHECK(signal_in(store, "host.kernel_tainted") == "0");
    CHECK(signal_in(store, "host.apparmor") == "enabled");
    CHECK(signal_in(store, "host.selinux") == "enforcing");
    CHECK(signal_in(store, "host.secure_boot") == "enabled");
    for (const auto& sig : store.snapshot()) CHECK(sig.source == "host");

    SECTION("changes are seen on the next round") {
        std::filesystem::remove(root + "/run/reboot-required");
        put(root, "/sys/fs/selinux/enforce", "0");
        put(root, kSecureBoot, std::string("\x06\0\0\0\0", 5));
        c.collect_once();
        CHECK(signal_in(store, "host.reboot_required") == "false");
        CHECK(signal_in(store, "host.selinux") == "permissive");
        CHECK(signal_in(store, "host.secure_boot") == "disabled");
    }
    SECTION("a damaged fact goes missing alone") {
        put(root, "/proc/sys/kernel/tainted", "lots");
        put(root, kSecureBoot, "x");
        c.collect_once();
        CHECK(signal_in(store, "host.kernel_tainted") == "<missing>");
        CHECK(signal_in(store, "host.secure_boot") == "<missing>");
        CHECK(signal_in(store, "host.apparmor") == "enabled");
        put(root, "/proc/sys/kernel/tainted", std::string(10000, '1'));  // past the 4 KiB cap
        c.collect_once();
        CHECK(signal_in(store, "host.kernel_tainted") == "<missing>");
    }
    std::filesystem::remove_all(root);
}

TEST_CASE("host collector on an empty root: absent, unknown, taint missing") {
    std::string root = vigil::testing::posture_temp_dir();
    HostFactsSettings s;
    s.root = root;
    SignalStore store;
    HostCollector c(s, store);
    c.collect_once();
    CHECK(signal_in(store, "host.reboot_required") == "false");
    CHECK(signal_in(store, "host.kernel_tainted") == "<missing>");
    CHECK(signal_in(store, "host.apparmor") == "absent");
    CHECK(signal_in(store, "host.selinux") == "absent");
    CHECK(signal_in(store, "host.secure_boot") == "unknown");
    // efivarfs mounted, with variables but no SecureBoot: firmware without it.
    put(root, "/sys/firmware/efi/efivars/BootOrder-8be4df61-93ca-11d2-aa0d-00e098032b8c", "x");
    c.collect_once();
    CHECK(signal_in(store, "host.secure_boot") == "disabled");
    std::filesystem::remove_all(root);
}

TEST_CASE("host collector on this machine never throws and reads the taint") {
    SignalStore store;
    HostCollector c(HostFactsSettings{}, store);
    c.collect_once();
    CHECK(signal_in(store, "host.kernel_tainted") != "<missing>");
    CHECK(signal_in(store, "host.reboot_required") != "<missing>");
}
