// A small Prometheus registry: counters, gauges and fixed-bucket histograms
// with labels, rendered in the text exposition format (0.0.4) that
// node_exporter's textfile collector reads. Thread-safe; the families render
// in the order they were defined, their series sorted by label values, so
// the same state always gives the same text.
//
//   Metrics m;
//   m.define({"vigil_decisions_total", MetricType::Counter, "Decisions.", {"service", "outcome"}});
//   m.add("vigil_decisions_total", {"sshd", "allow"});
//   std::string text = m.render();
//
// A call naming an undefined family, or giving the wrong number of label
// values, changes nothing: instrumentation must never break a decision.
#ifndef VIGIL_TRAIL_METRICS_H
#define VIGIL_TRAIL_METRICS_H

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace vigil {

enum class MetricType { Counter, Gauge, Histogram };

struct MetricDefinition {
    std::string name;  // counters end in _total
    MetricType type = MetricType::Counter;
    std::string help;
    std::vector<std::string> labels{};
    std::vector<double> buckets{};  // histograms: upper bounds, ascending; +Inf is implied
};

class Metrics {
public:
    using LabelValues = std::vector<std::string>;

    // A family without labels starts with one series at 0, so it is
    // rendered (and alertable) before anything happened.
    void define(MetricDefinition def);
    void add(std::string_view name, const LabelValues& values, double by = 1);     // counters
    void set(std::string_view name, const LabelValues& values, double value);      // gauges
    void observe(std::string_view name, const LabelValues& values, double value);  // histograms
    // Drops every series of a gauge that is re-read whole each time (the
    // age of each signal): a signal that went away must not linger.
    void clear(std::string_view name);

    std::string render() const;

private:
    struct Series {
        double value = 0;
        std::vector<uint64_t> buckets{};  // cumulative counts, one per bound
        uint64_t count = 0;
        double sum = 0;
    };
    struct Family {
        MetricDefinition def;
        std::map<LabelValues, Series> series;
    };
    Series* find(std::string_view name, const LabelValues& values, MetricType type);

    mutable std::mutex mu_;
    std::vector<Family> families_;
};

// The exposition format's escapes: backslash, double quote and newline.
std::string escape_label_value(std::string_view v);
// Go's float formatting as Prometheus writes it: "3", "0.005", "+Inf", "NaN".
std::string format_metric_value(double v);

}  // namespace vigil

#endif
