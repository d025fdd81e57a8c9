// [metrics] in vigil.toml (kept apart from config_test.cc: one table, one file).
#include <catch2/catch.hpp>

#include "config.h"

namespace {

std::string error_of(const std::string& text) {
    auto c = vigil::parse_config(text, "vigil.toml");
    return c ? "" : c.error().message;
}

}  // namespace

TEST_CASE("config leaves metrics off unless [metrics] textfile is set") {
    auto c = vigil::parse_config("[metrics]\ninterval = \"30s\"\n", "vigil.toml");
    REQUIRE(c);
    CHECK(c->metrics.textfile.empty());
    CHECK(c->metrics.interval == std::chrono::seconds(30));
}

TEST_CASE("config reads [metrics] textfile and interval") {
    auto c =
        vigil::parse_config("[metrics]\ntextfile = \"/var/lib/prometheus/node-exporter/vigil.prom\"\n", "vigil.toml");
    REQUIRE(c);
    CHECK(c->metrics.textfile == "/var/lib/prometheus/node-exporter/vigil.prom");
    CHECK(c->metrics.interval == std::chrono::seconds(15));
}

TEST_CASE("config rejects a metrics textfile the collector would never read, at its line") {
    CHECK_THAT(error_of("[metrics]\ntextfile = \"/tmp/vigil.txt\"\n"),
               Catch::StartsWith("vigil.toml:2:") && Catch::Contains("must end in .prom"));
    CHECK_THAT(error_of("[metrics]\ntextfile = \"vigil.prom\"\n"), Catch::Contains("absolute path"));
}

TEST_CASE("config rejects a bad [metrics] interval and unknown keys") {
    CHECK_THAT(error_of("[metrics]\ninterval = \"soon\"\n"),
               Catch::StartsWith("vigil.toml:2:") && Catch::Contains("metrics.interval"));
    CHECK_THAT(error_of("[metrics]\ninterval = \"0s\"\n"), Catch::Contains("metrics.interval"));
    CHECK_THAT(error_of("[metrics]\npath = \"/x.prom\"\n"), Catch::Contains("unknown key \"path\""));
}
