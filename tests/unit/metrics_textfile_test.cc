#include "metrics_textfile.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

TEST_CASE("the metrics textfile is written whole, with no temp file left, and marks the final write") {
    fs::path dir = fs::temp_directory_path() / ("vigil-metrics-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    vigil::Metrics m;
    m.define({"t_up", vigil::MetricType::Gauge, "Up."});
    vigil::MetricsTextfile out({(dir / "t.prom").string(), std::chrono::seconds(3600)}, m,
                               [&](bool final) { m.set("t_up", {}, final ? 0 : 1); });
    REQUIRE(out.write_now());
    auto read = [&] {
        std::ifstream in(dir / "t.prom");
        std::stringstream s;
        s << in.rdbuf();
        return s.str();
    };
    CHECK(read() == "# HELP t_up Up.\n# TYPE t_up gauge\nt_up 1\n");
    out.stop();
    CHECK_THAT(read(), Catch::EndsWith("t_up 0\n"));
    CHECK((fs::status(dir / "t.prom").permissions() & fs::perms::others_read) != fs::perms::none);
    CHECK(std::distance(fs::directory_iterator(dir), fs::directory_iterator()) == 1);
    fs::remove_all(dir);
}

TEST_CASE("a metrics textfile that cannot be written is an error, not a crash") {
    vigil::Metrics m;
    vigil::MetricsTextfile out({"/nonexistent-dir/t.prom", std::chrono::seconds(3600)}, m, nullptr);
    auto s = out.write_now();
    REQUIRE_FALSE(s);
    CHECK_THAT(s.error().message, Catch::Contains("/nonexistent-dir/t.prom"));
}
