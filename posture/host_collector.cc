#include "host_collector.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>

#include <cstring>

#include "trusted_path.h"

namespace vigil::posture {
namespace {

// Every file read here holds a few bytes; sysfs caps them at a page.
constexpr size_t kMaxFactBytes = 4096;
constexpr const char* kSecureBootVar = "SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c";

std::string_view trim(std::string_view s) {
    size_t b = s.find_first_not_of(" \t\r\n");
    if (b == std::string_view::npos) return {};
    return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

bool dir_has_entries(const std::string& dir) {
    DIR* d = ::opendir(dir.c_str());
    if (!d) return false;
    bool any = false;
    while (dirent* e = ::readdir(d)) {
        if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
            any = true;
            break;
        }
    }
    ::closedir(d);
    return any;
}

}  // namespace

Result<std::string> kernel_taint_value(const SmallFile& f) {
    if (!f.exists) return err("/proc/sys/kernel/tainted is absent");
    auto v = trim(f.text);
    if (v.empty() || v.size() > 20 || v.find_first_not_of("0123456789") != std::string_view::npos) {
        return err("/proc/sys/kernel/tainted is not a number");
    }
    return std::string(v);
}

Result<std::string> apparmor_value(const SmallFile& f) {
    if (!f.exists) return std::string("absent");
    auto v = trim(f.text);
    if (v == "Y") return std::string("enabled");
    if (v == "N") return std::string("disabled");
    return err("apparmor parameters/enabled is neither Y nor N");
}

Result<std::string> selinux_value(const SmallFile& f) {
    if (!f.exists) return std::string("absent");
    auto v = trim(f.text);
    if (v == "1") return std::string("enforcing");
    if (v == "0") return std::string("permissive");
    return err("/sys/fs/selinux/enforce is neither 1 nor 0");
}

Result<std::string> secure_boot_value(bool efivars_listed, const SmallFile& var) {
    if (!var.exists) return std::string(efivars_listed ? "disabled" : "unknown");
    // efivarfs files start with the variable's 4 attribute bytes.
    if (var.text.size() < 5) return err("the SecureBoot EFI variable is shorter than 5 bytes");
    return std::string(var.text[4] == 1 ? "enabled" : "disabled");
}

Status validate(const HostFactsSettings& s) {
    if (s.root.empty() || s.root[0] != '/') return err("posture.host.root must be an absolute path");
    if (s.interval.count() <= 0) return err("posture.host.interval must be positive");
    return Ok{};
}

HostCollector::HostCollector(HostFactsSettings settings, SignalStore& store)
    : s_(std::move(settings)),
      group_(store, "host", s_.root == "/" ? "host posture" : fmt::format("host posture (root {})", s_.root),
             s_.max_age),
      thread_(s_.interval, [this] { collect_once(); }) {}

HostCollector::~HostCollector() { stop(); }

void HostCollector::start() { thread_.start(); }

void HostCollector::stop() { thread_.stop(); }

std::string HostCollector::path(const char* absolute) const {
    std::string root = s_.root;
    while (!root.empty() && root.back() == '/') root.pop_back();
    return root + absolute;
}

void HostCollector::collect_once() {
    Reading r;
    auto add = [&r](const char* name, const Result<std::string>& v) {
        if (v) {
            r.values[name] = *v;
        } else {
            r.problems.push_back(fmt::format("{}: {}", name, v.error().message));
        }
    };
    // Kernel files and the package system's flag: root's alone.
    const TrustedIds root = trusted_ids("");
    // One read, judged by `judge`; a file that cannot be read is that signal's problem.
    auto fact = [&](const char* name, const char* file, auto judge) {
        auto f = read_small_file(path(file), kMaxFactBytes, root);
        if (!f) return add(name, f.error());
        add(name, judge(*f));
    };

    auto reboot = open_trusted(path("/run/reboot-required"), root, O_PATH);
    if (reboot) {
        r.values["host.reboot_required"] = *reboot ? "true" : "false";
    } else {
        r.problems.push_back(fmt::format("host.reboot_required: {}", reboot.error().message));
    }
    fact("host.kernel_tainted", "/proc/sys/kernel/tainted", kernel_taint_value);
    fact("host.apparmor", "/sys/module/apparmor/parameters/enabled", apparmor_value);
    fact("host.selinux", "/sys/fs/selinux/enforce", selinux_value);
    std::string efivars = path("/sys/firmware/efi/efivars");
    bool listed = dir_has_entries(efivars);
    auto var = read_small_file(efivars + "/" + kSecureBootVar, kMaxFactBytes, root);
    if (!var) {
        add("host.secure_boot", var.error());
    } else {
        add("host.secure_boot", secure_boot_value(listed, *var));
    }
    group_.publish(r);
}

}  // namespace vigil::posture
