// Writes the metrics for node_exporter's textfile collector: every interval
// and once more when stopped, the rendered registry replaces the file
// atomically (atomic_file.h), so the collector never scrapes half a file.
//
//   MetricsTextfile out({"/var/lib/prometheus/node-exporter/vigil.prom", 15s}, metrics,
//                       [&](bool final) { sample(final); });
//   out.start();
//   ...
//   out.stop();   // writes the last state: before_write(true) says vigil_up 0
//
// before_write runs just before each render: it sets the gauges that are
// read, not counted (live sessions, signal ages); final is true for the
// write at stop().
// A write that fails is logged when it starts failing and when it recovers,
// not at every interval; the latest result is kept for vigilctl status
// (health.h).
#ifndef VIGIL_TRAIL_METRICS_TEXTFILE_H
#define VIGIL_TRAIL_METRICS_TEXTFILE_H

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "metrics.h"
#include "result.h"

namespace vigil {

struct MetricsTextfileSettings {
    std::string path;
    std::chrono::seconds interval{15};
};

class MetricsTextfile {
public:
    MetricsTextfile(MetricsTextfileSettings settings, Metrics& metrics, std::function<void(bool final)> before_write);
    ~MetricsTextfile();  // stop()
    MetricsTextfile(const MetricsTextfile&) = delete;
    MetricsTextfile& operator=(const MetricsTextfile&) = delete;

    void start();
    void stop();
    Status write_now(bool final = false);

private:
    void run();

    MetricsTextfileSettings settings_;
    Metrics& metrics_;
    std::function<void(bool final)> before_write_;
    std::mutex mu_;
    std::condition_variable wake_;
    bool stopping_ = false;
    bool failing_ = false;
    std::thread thread_;
};

}  // namespace vigil

#endif
