#include "metrics.h"

#include <catch2/catch.hpp>
#include <map>
#include <regex>
#include <sstream>

#include "telemetry.h"

using vigil::Metrics;
using vigil::MetricType;

namespace {

// A strict reader of the text exposition format (0.0.4), enough to reject
// what Prometheus would: returns "" when text is valid, else the first
// problem with its line.
struct ExpositionChecker {
    std::map<std::string, std::string> types;   // family -> type
    std::map<std::string, double> last_bucket;  // series (without le) -> last cumulative count

    static bool parse_value(const std::string& v, double& out) {
        if (v == "+Inf" || v == "-Inf" || v == "NaN") return true;
        static const std::regex number(R"(-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?)");
        if (!std::regex_match(v, number)) return false;
        out = std::stod(v);
        return true;
    }

    // name{a="x",b="y"} -> labels; false on any bad escape or syntax.
    static bool parse_labels(const std::string& body, std::map<std::string, std::string>& out) {
        size_t i = 0;
        while (i < body.size()) {
            size_t eq = body.find('=', i);
            if (eq == std::string::npos) return false;
            std::string key = body.substr(i, eq - i);
            if (!std::regex_match(key, std::regex("[a-zA-Z_][a-zA-Z0-9_]*")) || out.count(key)) return false;
            if (eq + 1 >= body.size() || body[eq + 1] != '"') return false;
            std::string value;
            size_t j = eq + 2;
            for (; j < body.size() && body[j] != '"'; ++j) {
                if (body[j] == '\n') return false;
                if (body[j] != '\\') {
                    value += body[j];
                    continue;
                }
                if (++j >= body.size()) return false;
                if (body[j] == 'n')
                    value += '\n';
                else if (body[j] == '\\' || body[j] == '"')
                    value += body[j];
                else
                    return false;
            }
            if (j >= body.size()) return false;
            out[key] = value;
            i = j + 1;
            if (i < body.size() && body[i] != ',') return false;
            if (i < body.size()) ++i;
        }
        return true;
    }

    std::string family_of(const std::string& name) const {
        for (const char* suffix : {"_bucket", "_sum", "_count"}) {
            std::string s(suffix);
            if (name.size() > s.size() && name.ends_with(s)) {
                std::string base = name.substr(0, name.size() - s.size());
                auto it = types.find(base);
                if (it != types.end() && it->second == "histogram") return base;
            }
        }
        return name;
    }

    std::string sample(const std::string& line) {
        static const std::regex re(R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+))");
        std::smatch m;
        if (!std::regex_match(line, m, re)) return "not a sample line";
        std::string name = m[1], family = family_of(name);
        auto type = types.find(family);
        if (type == types.end()) return "sample before its # TYPE";
        if (type->second == "counter" && !name.ends_with("_total")) return "counter without _total";
        std::map<std::string, std::string> labels;
        if (m[2].matched && !parse_labels(m[3], labels)) return "bad label set";
        double v = 0;
        if (!parse_value(m[4], v)) return "bad value";
        if (name.ends_with("_bucket") && type->second == "histogram") {
            if (!labels.count("le")) return "bucket without le";
            std::string series = m[3].str().substr(0, m[3].str().find("le="));
            if (last_bucket.count(series) && v < last_bucket[series]) return "buckets not cumulative";
            last_bucket[series] = v;
        }
        return "";
    }

    std::string check(const std::string& text) {
        if (!text.empty() && text.back() != '\n') return "no final newline";
        std::istringstream in(text);
        std::string line;
        for (int n = 1; std::getline(in, line); ++n) {
            std::string why;
            std::smatch m;
            if (std::regex_match(line, m, std::regex(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (\w+))"))) {
                if (types.count(m[1])) why = "second # TYPE";
                std::string t = m[2];
                if (t != "counter" && t != "gauge" && t != "histogram") why = "unknown type";
                types[m[1]] = t;
            } else if (line.rfind("# HELP ", 0) == 0) {
                if (line.find('\n') != std::string::npos) why = "HELP spans lines";
            } else if (line.empty() || line[0] == '#') {
                why = line.empty() ? "empty line" : "";
            } else {
                why = sample(line);
            }
            if (!why.empty()) return "line " + std::to_string(n) + ": " + why + ": " + line;
        }
        return "";
    }
};

void define_small(Metrics& m) {
    m.define({"t_requests_total", MetricType::Counter, "Requests.", {"service", "outcome"}});
    m.define({"t_live", MetricType::Gauge, "Live things."});
}

}  // namespace

TEST_CASE("metrics render the exposition format exactly, families in order, series sorted") {
    Metrics m;
    m.define({"t_requests_total", MetricType::Counter, "Requests.", {"service", "outcome"}});
    m.define({"t_live", MetricType::Gauge, "Live things."});
    m.add("t_requests_total", {"sudo", "deny"});
    m.add("t_requests_total", {"sshd", "allow"}, 2);
    m.add("t_requests_total", {"sshd", "allow"});
    m.set("t_live", {}, 4);
    CHECK(m.render() ==
          "# HELP t_requests_total Requests.\n"
          "# TYPE t_requests_total counter\n"
          "t_requests_total{service=\"sshd\",outcome=\"allow\"} 3\n"
          "t_requests_total{service=\"sudo\",outcome=\"deny\"} 1\n"
          "# HELP t_live Live things.\n"
          "# TYPE t_live gauge\n"
          "t_live 4\n");
}

TEST_CASE("metrics render an unlabelled family at 0 before anything happened") {
    Metrics m;
    define_small(m);
    CHECK_THAT(m.render(), Catch::Contains("\nt_live 0\n"));
}

TEST_CASE("metrics escape backslash, quote and newline in label values, and HELP text") {
    CHECK(vigil::escape_label_value("a\\b\"c\nd") == "a\\\\b\\\"c\\nd");
    Metrics m;
    m.define({"t_x_total", MetricType::Counter, "Two\nlines \\ \"quoted\".", {"who"}});
    m.add("t_x_total", {"ev\"il\n"});
    std::string text = m.render();
    CHECK_THAT(text, Catch::Contains("# HELP t_x_total Two\\nlines \\\\ \"quoted\".\n"));
    CHECK_THAT(text, Catch::Contains("t_x_total{who=\"ev\\\"il\\n\"} 1\n"));
    CHECK(ExpositionChecker{}.check(text) == "");
}

TEST_CASE("metrics format values as Prometheus does") {
    CHECK(vigil::format_metric_value(3) == "3");
    CHECK(vigil::format_metric_value(0.005) == "0.005");
    CHECK(vigil::format_metric_value(1.0 / 0.0) == "+Inf");
    CHECK(vigil::format_metric_value(-1.0 / 0.0) == "-Inf");
}

TEST_CASE("metrics histograms count into cumulative buckets, with sum and count") {
    Metrics m;
    m.define({"t_seconds", MetricType::Histogram, "Time.", {"pdp"}, {0.25, 1, 2}});
    m.observe("t_seconds", {"cerbos"}, 0.25);  // on a bound: counted in it (le is <=)
    m.observe("t_seconds", {"cerbos"}, 0.5);
    m.observe("t_seconds", {"cerbos"}, 3);
    CHECK(m.render() ==
          "# HELP t_seconds Time.\n"
          "# TYPE t_seconds histogram\n"
          "t_seconds_bucket{pdp=\"cerbos\",le=\"0.25\"} 1\n"
          "t_seconds_bucket{pdp=\"cerbos\",le=\"1\"} 2\n"
          "t_seconds_bucket{pdp=\"cerbos\",le=\"2\"} 2\n"
          "t_seconds_bucket{pdp=\"cerbos\",le=\"+Inf\"} 3\n"
          "t_seconds_sum{pdp=\"cerbos\"} 3.75\n"
          "t_seconds_count{pdp=\"cerbos\"} 3\n");
}

TEST_CASE("metrics ignore unknown names, wrong label counts, wrong types and negative counts") {
    Metrics m;
    define_small(m);
    std::string before = m.render();
    m.add("t_nope_total", {});
    m.add("t_requests_total", {"sshd"});
    m.set("t_requests_total", {"sshd", "allow"}, 5);
    m.observe("t_live", {}, 1);
    m.add("t_requests_total", {"sshd", "allow"}, -1);
    CHECK(m.render() == before);
}

TEST_CASE("metrics clear drops every series of a re-read gauge") {
    Metrics m;
    m.define({"t_age_seconds", MetricType::Gauge, "Age.", {"signal"}});
    m.set("t_age_seconds", {"a"}, 1);
    m.clear("t_age_seconds");
    m.set("t_age_seconds", {"b"}, 2);
    CHECK_THAT(m.render(), !Catch::Contains("signal=\"a\"") && Catch::Contains("t_age_seconds{signal=\"b\"} 2\n"));
}

TEST_CASE("vigil's metrics render as valid exposition text, counters ending in _total") {
    Metrics m;
    vigil::define_vigil_metrics(m);
    m.add("vigil_decisions_total", {"sshd", "account", "allow"});
    m.add("vigil_decisions_total", {"su\"do\\", "account", "deny"});
    m.observe("vigil_pdp_request_duration_seconds", {"cerbos"}, 0.0042);
    m.observe("vigil_pdp_request_duration_seconds", {"cerbos"}, 7);
    m.add("vigil_pdp_errors_total", {"timeout"});
    vigil::GaugeSample g;
    g.sessions_live = 2;
    g.signals.push_back({"systemd.unit.edr.active", "active", "systemd", g.now - std::chrono::seconds(3)});
    vigil::sample_gauges(m, g);
    std::string text = m.render();
    CHECK(ExpositionChecker{}.check(text) == "");
    CHECK_THAT(text, Catch::Contains("vigil_signal_age_seconds{signal=\"systemd.unit.edr.active\"} 3\n"));
    CHECK_THAT(text, Catch::Contains("vigil_sessions_live 2\n"));
    CHECK_THAT(text, Catch::Contains("vigil_pdp_request_duration_seconds_bucket{pdp=\"cerbos\",le=\"5\"} 1\n"));
    CHECK_THAT(text, Catch::Contains("vigil_build_info{version=\""));
}

TEST_CASE("the exposition checker rejects what Prometheus would") {
    CHECK(ExpositionChecker{}.check("x 1\n") != "");                                           // no TYPE
    CHECK(ExpositionChecker{}.check("# TYPE x_total counter\nx_total{a=\"\\q\"} 1\n") != "");  // bad escape
    CHECK(ExpositionChecker{}.check("# TYPE x counter\nx 1\n") != "");                         // no _total
    CHECK(ExpositionChecker{}.check("# TYPE x gauge\nx one\n") != "");                         // bad value
    CHECK(ExpositionChecker{}.check("# TYPE x gauge\nx 1") != "");                             // no newline
}
