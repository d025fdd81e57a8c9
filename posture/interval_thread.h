// Runs one function now and then every `interval` on a thread of its own,
// until stopped: the loop every polling collector shares.
//
//   IntervalThread thread(5s, [this] { collect_once(); });
//   thread.start();
//   ...
//   thread.stop();   // wakes the sleep at once; waits for a tick in progress
//
// Ticks never overlap: a tick that overruns the interval is followed by the
// next one straight away, not by a pile of them.
#ifndef VIGIL_POSTURE_INTERVAL_THREAD_H
#define VIGIL_POSTURE_INTERVAL_THREAD_H

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace vigil::posture {

class IntervalThread {
public:
    IntervalThread(std::chrono::milliseconds interval, std::function<void()> tick);
    ~IntervalThread();
    IntervalThread(const IntervalThread&) = delete;
    IntervalThread& operator=(const IntervalThread&) = delete;

    // Does nothing when already running.
    void start();
    void stop();
    // True once stop() was called: a tick doing several slow things (one
    // osqueryi run per query) checks it between them, so vigild's shutdown
    // waits for one of them, not for all.
    bool stop_requested() const;

private:
    void run();
    void tick_guarded();

    std::chrono::milliseconds interval_;
    std::function<void()> tick_;
    mutable std::mutex mu_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace vigil::posture

#endif
