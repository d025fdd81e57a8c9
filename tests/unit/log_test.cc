// What the daemon log costs when a line is not wanted: nothing is formatted.
#include "log.h"

#include <catch2/catch.hpp>

namespace {

int g_formatted = 0;

// Counts how often fmt renders it.
struct Counted {};

}  // namespace

template <>
struct fmt::formatter<Counted> : fmt::formatter<std::string_view> {
    auto format(const Counted&, fmt::format_context& ctx) const {
        ++g_formatted;
        return fmt::formatter<std::string_view>::format("counted", ctx);
    }
};

TEST_CASE("log: a line below the level is not formatted; warnings always are (vigilctl status keeps them)") {
    vigil::set_log_level(vigil::LogLevel::Info);
    g_formatted = 0;
    vigil::log_debug("not wanted: {}", Counted{});
    CHECK(g_formatted == 0);
    CHECK_FALSE(vigil::log_wanted(vigil::LogLevel::Debug));
    CHECK(vigil::log_wanted(vigil::LogLevel::Info));

    vigil::set_log_level(vigil::LogLevel::Error);
    CHECK(vigil::log_wanted(vigil::LogLevel::Warning));  // kept for status, though not printed
    CHECK_FALSE(vigil::log_wanted(vigil::LogLevel::Info));

    vigil::set_log_level(vigil::LogLevel::Debug);
    vigil::log_debug("wanted: {}", Counted{});
    CHECK(g_formatted == 1);
    vigil::set_log_level(vigil::LogLevel::Info);
}
