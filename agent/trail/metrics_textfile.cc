#include "metrics_textfile.h"

#include "atomic_file.h"
#include "health.h"
#include "log.h"

namespace vigil {

MetricsTextfile::MetricsTextfile(MetricsTextfileSettings settings, Metrics& metrics,
                                 std::function<void(bool final)> before_write)
    : settings_(std::move(settings)), metrics_(metrics), before_write_(std::move(before_write)) {}

MetricsTextfile::~MetricsTextfile() { stop(); }

void MetricsTextfile::start() {
    thread_ = std::thread([this] { run(); });
}

void MetricsTextfile::stop() {
    {
        std::lock_guard lock(mu_);
        if (stopping_) return;
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
    (void)write_now(true);  // the state at exit, including counts since the last interval
}

// Only the writer thread and stop() (after the join) get here.
Status MetricsTextfile::write_now(bool final) {
    if (before_write_) before_write_(final);
    Status s = write_file_atomically(settings_.path, metrics_.render(), 0644);
    if (!s && !failing_) log_error("metrics: {}; will retry every {}s", s.error().message, settings_.interval.count());
    if (s && failing_) log_info("metrics: {} written again", settings_.path);
    failing_ = !s;
    vigil_health().metrics_written(settings_.path, s ? "" : s.error().message);
    return s;
}

void MetricsTextfile::run() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
        lock.unlock();
        (void)write_now();
        lock.lock();
        wake_.wait_for(lock, settings_.interval, [this] { return stopping_; });
    }
}

}  // namespace vigil
