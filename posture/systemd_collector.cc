#include "systemd_collector.h"

#include <systemd/sd-bus.h>

#include <cstdlib>
#include <map>
#include <set>

#include "log.h"

namespace vigil::posture {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kDest = "org.freedesktop.systemd1";
constexpr const char* kManagerPath = "/org/freedesktop/systemd1";
constexpr const char* kManager = "org.freedesktop.systemd1.Manager";
constexpr const char* kUnit = "org.freedesktop.systemd1.Unit";
constexpr auto kPollSlice = std::chrono::milliseconds(200);
constexpr auto kReconnectDelay = std::chrono::seconds(1);
constexpr uint64_t kCallTimeoutUs = 5'000'000;

struct BusError {
    sd_bus_error e = SD_BUS_ERROR_NULL;
    ~BusError() { sd_bus_error_free(&e); }
    std::string text(int r) const { return e.message ? e.message : strerror(-r); }
};

struct Bus {
    sd_bus* b = nullptr;
    ~Bus() { sd_bus_flush_close_unref(b); }
};

int open_bus(const std::string& which, sd_bus** out) {
    if (which == "system") return sd_bus_open_system(out);
    if (which == "user") return sd_bus_open_user(out);
    int r = sd_bus_new(out);
    if (r < 0) return r;
    if ((r = sd_bus_set_address(*out, which.c_str())) < 0) return r;
    if ((r = sd_bus_set_bus_client(*out, 1)) < 0) return r;
    return sd_bus_start(*out);
}

// One connection's life: set up, then follow changes until the bus fails.
class Session {
public:
    Session(sd_bus* bus, const SystemdSettings& s, SignalStore& store) : bus_(bus), s_(s), store_(store) {}
    ~Session() { sd_bus_slot_unref(match_); }

    bool setup() {
        // A wedged peer (or a slow bus activation of timedated) must not
        // hold posture for sd-bus' default 25 s.
        sd_bus_set_method_call_timeout(bus_, kCallTimeoutUs);
        BusError err;
        int r = sd_bus_call_method(bus_, kDest, kManagerPath, kManager, "Subscribe", &err.e, nullptr, "");
        if (r < 0) return fail("Subscribe", err.text(r));
        r = sd_bus_match_signal(bus_, &match_, kDest, nullptr, "org.freedesktop.DBus.Properties", "PropertiesChanged",
                                &Session::on_changed, this);
        if (r < 0) return fail("match PropertiesChanged", strerror(-r));
        for (const auto& unit : s_.units) {
            if (!load_unit(unit)) return false;
        }
        return true;
    }

    // Returns when the bus fails or stopping is set.
    void follow(const std::atomic<bool>& stopping) {
        auto next_full = Clock::now();
        while (!stopping) {
            if (Clock::now() >= next_full) {
                if (!read_all()) return;
                next_full = Clock::now() + s_.interval;
            }
            int r = sd_bus_process(bus_, nullptr);
            if (r < 0) return (void)fail("process", strerror(-r));
            if (r > 0) continue;
            if (!read_dirty()) return;
            auto left = std::min<Clock::duration>(kPollSlice, next_full - Clock::now());
            auto us = std::chrono::duration_cast<std::chrono::microseconds>(left).count();
            r = sd_bus_wait(bus_, us > 0 ? static_cast<uint64_t>(us) : 0);
            if (r < 0 && r != -EINTR) return (void)fail("wait", strerror(-r));
        }
    }

private:
    static int on_changed(sd_bus_message* m, void* self, sd_bus_error*) {
        auto* s = static_cast<Session*>(self);
        if (const char* path = sd_bus_message_get_path(m); path && s->units_by_path_.count(path)) {
            s->dirty_.insert(path);
        }
        return 0;
    }

    bool fail(const char* what, const std::string& why) {
        log_warn("systemd posture ({} bus): {}: {}", s_.bus, what, why);
        return false;
    }

    bool load_unit(const std::string& unit) {
        BusError err;
        sd_bus_message* reply = nullptr;
        int r = sd_bus_call_method(bus_, kDest, kManagerPath, kManager, "LoadUnit", &err.e, &reply, "s", unit.c_str());
        if (r < 0) return fail(("LoadUnit " + unit).c_str(), err.text(r));
        const char* path = nullptr;
        r = sd_bus_message_read(reply, "o", &path);
        if (r >= 0) units_by_path_[path] = unit;
        sd_bus_message_unref(reply);
        return r >= 0 || fail("LoadUnit reply", strerror(-r));
    }

    bool read_string(const char* path, const char* iface, const char* prop, std::string& out) {
        BusError err;
        char* value = nullptr;
        int r = sd_bus_get_property_string(bus_, kDest, path, iface, prop, &err.e, &value);
        if (r < 0) return fail(prop, err.text(r));
        out = value;
        std::free(value);
        return true;
    }

    void publish(const std::string& name, std::string value) {
        store_.update({name, std::move(value), "systemd", std::chrono::system_clock::now(), s_.max_age});
    }

    bool read_unit(const std::string& path) {
        const std::string& unit = units_by_path_.at(path);
        std::string active, sub;
        if (!read_string(path.c_str(), kUnit, "ActiveState", active)) return false;
        if (!read_string(path.c_str(), kUnit, "SubState", sub)) return false;
        publish("systemd.unit." + unit, active);
        publish("systemd.unit." + unit + ".sub_state", sub);
        return true;
    }

    bool read_manager() {
        std::string state;
        uint32_t failed = 0;
        BusError err;
        // SystemState emits no change signal: it is only ever read here.
        if (!read_string(kManagerPath, kManager, "SystemState", state)) return false;
        int r = sd_bus_get_property_trivial(bus_, kDest, kManagerPath, kManager, "NFailedUnits", &err.e, 'u', &failed);
        if (r < 0) return fail("NFailedUnits", err.text(r));
        publish("systemd.system_state", state);
        publish("systemd.failed_units", std::to_string(failed));
        return true;
    }

    // NTPSynchronized emits no change signal either. timedated is activated
    // on demand and may be absent (a user bus, a container): that makes the
    // signal missing, not the whole bus unusable.
    void read_ntp() {
        BusError err;
        int synced = 0;
        int r = sd_bus_get_property_trivial(bus_, "org.freedesktop.timedate1", "/org/freedesktop/timedate1",
                                            "org.freedesktop.timedate1", "NTPSynchronized", &err.e, 'b', &synced);
        if (r < 0) {
            if (!ntp_failed_) log_warn("systemd posture: timedate1 NTPSynchronized: {}", err.text(r));
            ntp_failed_ = true;
            store_.forget("time.ntp_synchronized");
            return;
        }
        ntp_failed_ = false;
        publish("time.ntp_synchronized", synced ? "true" : "false");
    }

    bool read_all() {
        for (const auto& [path, unit] : units_by_path_) {
            if (!read_unit(path)) return false;
        }
        dirty_.clear();
        if (s_.ntp) read_ntp();
        return read_manager();
    }

    bool read_dirty() {
        std::set<std::string> paths;
        paths.swap(dirty_);
        for (const auto& p : paths) {
            if (!read_unit(p)) return false;
        }
        return true;
    }

    sd_bus* bus_;
    const SystemdSettings& s_;
    SignalStore& store_;
    sd_bus_slot* match_ = nullptr;
    std::map<std::string, std::string> units_by_path_;
    std::set<std::string> dirty_;
    bool ntp_failed_ = false;  // log a lost timedated once, not every interval
};

}  // namespace

SystemdCollector::SystemdCollector(SystemdSettings settings, SignalStore& store)
    : settings_(std::move(settings)), store_(store) {}

SystemdCollector::~SystemdCollector() { stop(); }

void SystemdCollector::start() {
    thread_ = std::thread([this] { run(); });
}

void SystemdCollector::stop() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
}

void SystemdCollector::run() {
    while (!stopping_) {
        Bus bus;
        int r = open_bus(settings_.bus, &bus.b);
        if (r >= 0) {
            Session session(bus.b, settings_, store_);
            if (session.setup()) session.follow(stopping_);
        } else {
            log_warn("systemd posture: cannot open the {} bus: {}", settings_.bus, strerror(-r));
        }
        // Lost the bus: nothing we knew can be vouched for any more.
        for (const auto& unit : settings_.units) {
            store_.forget("systemd.unit." + unit);
            store_.forget("systemd.unit." + unit + ".sub_state");
        }
        store_.forget("systemd.system_state");
        store_.forget("systemd.failed_units");
        store_.forget("time.ntp_synchronized");
        for (auto until = Clock::now() + kReconnectDelay; !stopping_ && Clock::now() < until;) {
            std::this_thread::sleep_for(kPollSlice);
        }
    }
}

}  // namespace vigil::posture
