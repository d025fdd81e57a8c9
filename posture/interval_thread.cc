#include "interval_thread.h"

#include <exception>

#include "log.h"

namespace vigil::posture {

IntervalThread::IntervalThread(std::chrono::milliseconds interval, std::function<void()> tick)
    : interval_(interval), tick_(std::move(tick)) {}

IntervalThread::~IntervalThread() { stop(); }

void IntervalThread::start() {
    if (thread_.joinable()) return;
    {
        std::lock_guard lock(mu_);
        stopping_ = false;
    }
    thread_ = std::thread([this] { run(); });
}

void IntervalThread::stop() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

bool IntervalThread::stop_requested() const {
    std::lock_guard lock(mu_);
    return stopping_;
}

void IntervalThread::run() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
        auto next = std::chrono::steady_clock::now() + interval_;
        lock.unlock();
        tick_guarded();
        lock.lock();
        wake_.wait_until(lock, next, [this] { return stopping_; });
    }
}

// An escaping exception would end vigild through std::terminate; a posture
// source is never worth that. Its signals simply stop being refreshed.
void IntervalThread::tick_guarded() {
    try {
        tick_();
    } catch (const std::exception& e) {
        log_error("posture collection failed: {}", e.what());
    } catch (...) {
        log_error("posture collection failed with an unknown exception");
    }
}

}  // namespace vigil::posture
