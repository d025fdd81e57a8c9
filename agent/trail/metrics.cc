#include "metrics.h"

#include <fmt/format.h>

#include <cmath>

namespace vigil {
namespace {

const char* type_name(MetricType t) {
    switch (t) {
        case MetricType::Counter: return "counter";
        case MetricType::Gauge: return "gauge";
        case MetricType::Histogram: return "histogram";
    }
    return "untyped";
}

// Backslash and newline always; double quotes inside label values only
// (HELP text leaves them as they are).
std::string escape(std::string_view v, bool quotes) {
    std::string out;
    for (char c : v) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else if (c == '"' && quotes)
            out += "\\\"";
        else
            out += c;
    }
    return out;
}

// {a="x",b="y"}, with an extra pair (a histogram's le) at the end; "" when empty.
std::string label_set(const std::vector<std::string>& names, const Metrics::LabelValues& values,
                      std::string_view extra_name = {}, std::string_view extra_value = {}) {
    std::string out;
    for (size_t i = 0; i < names.size(); ++i) {
        out += fmt::format("{}{}=\"{}\"", out.empty() ? "" : ",", names[i], escape_label_value(values[i]));
    }
    if (!extra_name.empty()) out += fmt::format("{}{}=\"{}\"", out.empty() ? "" : ",", extra_name, extra_value);
    return out.empty() ? "" : "{" + out + "}";
}

void render_histogram(std::string& out, const MetricDefinition& d, const Metrics::LabelValues& values, uint64_t count,
                      double sum, const std::vector<uint64_t>& buckets) {
    for (size_t i = 0; i < d.buckets.size(); ++i) {
        out += fmt::format("{}_bucket{} {}\n", d.name,
                           label_set(d.labels, values, "le", format_metric_value(d.buckets[i])), buckets[i]);
    }
    out += fmt::format("{}_bucket{} {}\n", d.name, label_set(d.labels, values, "le", "+Inf"), count);
    out += fmt::format("{}_sum{} {}\n", d.name, label_set(d.labels, values), format_metric_value(sum));
    out += fmt::format("{}_count{} {}\n", d.name, label_set(d.labels, values), count);
}

}  // namespace

std::string escape_label_value(std::string_view v) { return escape(v, true); }

std::string format_metric_value(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    return fmt::format("{}", v);
}

void Metrics::define(MetricDefinition def) {
    std::lock_guard lock(mu_);
    for (const Family& f : families_) {
        if (f.def.name == def.name) return;
    }
    Family f{std::move(def), {}};
    if (f.def.labels.empty()) f.series[{}].buckets.assign(f.def.buckets.size(), 0);
    families_.push_back(std::move(f));
}

// Called with mu_ held.
Metrics::Series* Metrics::find(std::string_view name, const LabelValues& values, MetricType type) {
    for (Family& f : families_) {
        if (f.def.name != name) continue;
        if (f.def.type != type || f.def.labels.size() != values.size()) return nullptr;
        auto [it, fresh] = f.series.try_emplace(values);
        if (fresh) it->second.buckets.assign(f.def.buckets.size(), 0);
        return &it->second;
    }
    return nullptr;
}

void Metrics::add(std::string_view name, const LabelValues& values, double by) {
    std::lock_guard lock(mu_);
    if (by < 0) return;  // counters only go up
    if (Series* s = find(name, values, MetricType::Counter)) s->value += by;
}

void Metrics::set(std::string_view name, const LabelValues& values, double value) {
    std::lock_guard lock(mu_);
    if (Series* s = find(name, values, MetricType::Gauge)) s->value = value;
}

void Metrics::observe(std::string_view name, const LabelValues& values, double value) {
    std::lock_guard lock(mu_);
    Series* s = nullptr;
    const MetricDefinition* def = nullptr;
    for (Family& f : families_) {
        if (f.def.name == name) def = &f.def;
    }
    if (def == nullptr || !(s = find(name, values, MetricType::Histogram))) return;
    for (size_t i = 0; i < def->buckets.size(); ++i) {
        if (value <= def->buckets[i]) ++s->buckets[i];
    }
    ++s->count;
    s->sum += value;
}

void Metrics::clear(std::string_view name) {
    std::lock_guard lock(mu_);
    for (Family& f : families_) {
        if (f.def.name == name && !f.def.labels.empty()) f.series.clear();
    }
}

std::string Metrics::render() const {
    std::lock_guard lock(mu_);
    std::string out;
    for (const Family& f : families_) {
        const MetricDefinition& d = f.def;
        out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", d.name, escape(d.help, false), d.name, type_name(d.type));
        for (const auto& [values, s] : f.series) {
            if (d.type == MetricType::Histogram) {
                render_histogram(out, d, values, s.count, s.sum, s.buckets);
            } else {
                out += fmt::format("{}{} {}\n", d.name, label_set(d.labels, values), format_metric_value(s.value));
            }
        }
    }
    return out;
}

}  // namespace vigil
