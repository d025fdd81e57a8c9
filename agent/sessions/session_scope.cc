#include "session_scope.h"

#include <dirent.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>

namespace vigil {
namespace {

using Clock = std::chrono::steady_clock;
using BusPtr = std::unique_ptr<sd_bus, sd_bus* (*)(sd_bus*)>;
using MessagePtr = std::unique_ptr<sd_bus_message, sd_bus_message* (*)(sd_bus_message*)>;

constexpr const char* kSystemd = "org.freedesktop.systemd1";
constexpr const char* kManagerPath = "/org/freedesktop/systemd1";
constexpr const char* kManager = "org.freedesktop.systemd1.Manager";
// A cgroup tree deeper than this is not a session's.
constexpr int kMaxDepth = 16;

std::string errno_text(int r) { return std::strerror(r < 0 ? -r : r); }

// Owns an sd_bus_error and says what it holds.
struct BusError {
    sd_bus_error e = SD_BUS_ERROR_NULL;
    ~BusError() { ::sd_bus_error_free(&e); }
    std::string text(int r) const { return e.message ? e.message : errno_text(r); }
};

Result<BusPtr> system_bus(std::chrono::milliseconds timeout) {
    sd_bus* raw = nullptr;
    int r = ::sd_bus_open_system(&raw);
    if (r < 0) return err(fmt::format("no system bus: {}", errno_text(r)));
    BusPtr bus(raw, ::sd_bus_flush_close_unref);
    ::sd_bus_set_method_call_timeout(bus.get(), std::chrono::microseconds(timeout).count());
    return bus;
}

// The unified hierarchy's mount: /sys/fs/cgroup on a cgroup v2 host,
// /sys/fs/cgroup/unified on a hybrid one.
std::string unified_root() {
    struct stat st {};
    if (::stat("/sys/fs/cgroup/cgroup.procs", &st) == 0) return "/sys/fs/cgroup";
    return "/sys/fs/cgroup/unified";
}

// A cgroup path as /proc gives it: absolute, no "..", no empty component.
bool clean_cgroup(std::string_view cgroup) {
    if (!cgroup.starts_with('/') || cgroup.find("/../") != std::string_view::npos || cgroup.ends_with("/..")) {
        return false;
    }
    return cgroup.find("//") == std::string_view::npos;
}

// Adds the processes of dir and of its child cgroups to n; false when dir is gone.
bool count_procs(const std::string& dir, int depth, size_t& n) {
    std::ifstream procs(dir + "/cgroup.procs");
    if (!procs) return false;
    for (std::string line; std::getline(procs, line);) n += !line.empty();
    if (depth == kMaxDepth) return true;
    std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
    if (!d) return true;
    while (dirent* e = ::readdir(d.get())) {
        if (e->d_type != DT_DIR || e->d_name[0] == '.') continue;
        count_procs(dir + "/" + e->d_name, depth + 1, n);
    }
    return true;
}

// Calls one of PID 1's Manager methods with args (sd-bus types `types`).
template <class... Args>
Status call_manager(const char* method, std::chrono::milliseconds timeout, const char* types, Args... args) {
    auto bus = system_bus(timeout);
    if (!bus) return bus.error();
    BusError error;
    int r =
        ::sd_bus_call_method(bus->get(), kSystemd, kManagerPath, kManager, method, &error.e, nullptr, types, args...);
    if (r < 0) return err(fmt::format("{}: {}", method, error.text(r)));
    return Ok{};
}

// StartTransientUnit's message: the scope's properties, pid in it.
Result<MessagePtr> scope_request(sd_bus* bus, const std::string& unit, pid_t pid, uid_t uid,
                                 std::string_view session_id) {
    sd_bus_message* raw = nullptr;
    int r = ::sd_bus_message_new_method_call(bus, &raw, kSystemd, kManagerPath, kManager, "StartTransientUnit");
    if (r < 0) return err(fmt::format("StartTransientUnit: {}", errno_text(r)));
    MessagePtr m(raw, ::sd_bus_message_unref);
    std::string slice = fmt::format("user-{}.slice", uid);
    std::string description = fmt::format("vigil session {}", session_id);
    r = ::sd_bus_message_append(m.get(), "ss", unit.c_str(), "fail");
    // a(sv): PIDs, Slice, Description; SIGHUP first on stop, as a hung-up
    // terminal would; no OOM kill of the whole session for one process;
    // collected even when it ends failed, so the name never lingers.
    if (r >= 0) {
        r = ::sd_bus_message_append(m.get(), "a(sv)", 6, "PIDs", "au", 1, static_cast<uint32_t>(pid), "Slice", "s",
                                    slice.c_str(), "Description", "s", description.c_str(), "SendSIGHUP", "b", 1,
                                    "OOMPolicy", "s", "continue", "CollectMode", "s", "inactive-or-failed");
    }
    if (r >= 0) r = ::sd_bus_message_append(m.get(), "a(sa(sv))", 0);
    if (r < 0) return err(fmt::format("StartTransientUnit: building the request: {}", errno_text(r)));
    return m;
}

// Waits for the JobRemoved signal of job on bus (matched before the call).
Status wait_job(sd_bus* bus, const std::string& job, const std::string& unit, const std::string* result,
                Clock::time_point deadline) {
    while (result->empty()) {
        int r = ::sd_bus_process(bus, nullptr);
        if (r < 0) return err(fmt::format("{}: system bus: {}", unit, errno_text(r)));
        if (r > 0) continue;
        auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - Clock::now());
        if (left.count() <= 0) return err(fmt::format("{}: job {} did not finish in time", unit, job));
        if ((r = ::sd_bus_wait(bus, left.count())) < 0) return err(fmt::format("{}: {}", unit, errno_text(r)));
    }
    if (*result != "done") return err(fmt::format("{}: starting it ended with \"{}\"", unit, *result));
    return Ok{};
}

struct JobWatch {
    std::string job;     // the job's object path, once the call returned it
    std::string result;  // "done", "failed", ...; empty until JobRemoved
};

int on_job_removed(sd_bus_message* m, void* userdata, sd_bus_error*) {
    auto* w = static_cast<JobWatch*>(userdata);
    uint32_t id = 0;
    const char *path = nullptr, *unit = nullptr, *result = nullptr;
    if (::sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0) return 0;
    if (!w->job.empty() && w->job == path) w->result = result;
    return 0;
}

// Starts the scope and waits until PID 1 has moved pid into it.
Status start_scope(const std::string& unit, pid_t pid, uid_t uid, std::string_view session_id,
                   std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    auto bus = system_bus(timeout);
    if (!bus) return bus.error();
    JobWatch watch;
    // Subscribed before the call: the job may be over before its reply is read.
    int r = ::sd_bus_match_signal(bus->get(), nullptr, kSystemd, kManagerPath, kManager, "JobRemoved", on_job_removed,
                                  &watch);
    if (r < 0) return err(fmt::format("{}: cannot watch jobs: {}", unit, errno_text(r)));
    auto request = scope_request(bus->get(), unit, pid, uid, session_id);
    if (!request) return request.error();
    BusError error;
    sd_bus_message* raw_reply = nullptr;
    r = ::sd_bus_call(bus->get(), request->get(), std::chrono::microseconds(timeout).count(), &error.e, &raw_reply);
    MessagePtr reply(raw_reply, ::sd_bus_message_unref);
    if (r < 0) return err(fmt::format("StartTransientUnit {}: {}", unit, error.text(r)));
    const char* job = nullptr;
    if ((r = ::sd_bus_message_read(reply.get(), "o", &job)) < 0) {
        return err(fmt::format("StartTransientUnit {}: reply: {}", unit, errno_text(r)));
    }
    watch.job = job;
    return wait_job(bus->get(), watch.job, unit, &watch.result, deadline);
}

}  // namespace

std::optional<std::string> cgroup_of(pid_t pid, const std::string& proc_root) {
    std::ifstream in(fmt::format("{}/{}/cgroup", proc_root, pid));
    for (std::string line; std::getline(in, line);) {
        if (line.starts_with("0::") && clean_cgroup(std::string_view(line).substr(3))) return line.substr(3);
    }
    return std::nullopt;
}

std::string unit_of_cgroup(std::string_view cgroup) {
    auto slash = cgroup.rfind('/');
    if (slash == std::string_view::npos) return {};
    std::string_view last = cgroup.substr(slash + 1);
    if (last.size() <= 6 || !(last.ends_with(".scope") || last.ends_with(".service"))) return {};
    return std::string(last);
}

bool is_logind_scope(std::string_view unit) {
    constexpr std::string_view kPrefix = "session-", kSuffix = ".scope";
    if (!unit.starts_with(kPrefix) || !unit.ends_with(kSuffix)) return false;
    std::string_view id = unit.substr(kPrefix.size(), unit.size() - kPrefix.size() - kSuffix.size());
    if (id.empty()) return false;
    for (char c : id) {
        if (!std::isalnum(static_cast<unsigned char>(c))) return false;
    }
    return true;
}

bool systemd_manages_pids() {
    if (::sd_booted() <= 0) return false;
    std::ifstream comm("/proc/1/comm");
    std::string name;
    return std::getline(comm, name) && name == "systemd";
}

std::optional<size_t> cgroup_population(std::string_view cgroup) {
    if (!clean_cgroup(cgroup)) return std::nullopt;
    size_t n = 0;
    if (!count_procs(unified_root() + std::string(cgroup), 0, n)) return std::nullopt;
    return n;
}

Status kill_unit(const std::string& unit, int sig, std::chrono::milliseconds timeout) {
    return call_manager("KillUnit", timeout, "ssi", unit.c_str(), "all", static_cast<int32_t>(sig));
}

Status freeze_unit(const std::string& unit, std::chrono::milliseconds timeout) {
    return call_manager("FreezeUnit", timeout, "s", unit.c_str());
}

ScopeControl systemd_scopes(std::chrono::milliseconds timeout) {
    return {[timeout](const std::string& unit, int sig) { return kill_unit(unit, sig, timeout); },
            [timeout](const std::string& unit) { return freeze_unit(unit, timeout); },
            [](const std::string& cgroup) { return cgroup_population(cgroup); }};
}

Result<SessionPlace> place_session(pid_t pid, uid_t uid, std::string_view session_id,
                                   std::chrono::milliseconds timeout) {
    if (!systemd_manages_pids()) return err("systemd is not PID 1 here; the session has no scope");
    auto now = cgroup_of(pid);
    if (!now) return err(fmt::format("process {} has no cgroup in the unified hierarchy", pid));
    if (is_logind_scope(unit_of_cgroup(*now))) return SessionPlace{*now, false};
    std::string unit = fmt::format("vigil-session-{}.scope", session_id);
    if (Status started = start_scope(unit, pid, uid, session_id, timeout); !started) return started.error();
    // Trust the kernel, not the job's word: pid must be in the new cgroup.
    auto moved = cgroup_of(pid);
    if (!moved || unit_of_cgroup(*moved) != unit) {
        return err(fmt::format("{} started, but process {} is in {}", unit, pid, moved.value_or("no cgroup")));
    }
    return SessionPlace{*moved, true};
}

}  // namespace vigil
