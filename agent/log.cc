#include "log.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>

namespace vigil {
namespace {

std::atomic<LogLevel> g_min_level{LogLevel::Info};

// sd-daemon priority prefixes: journald files each stderr line at its level.
const char* prefix(LogLevel level) {
    switch (level) {
        case LogLevel::Debug: return "<7>";
        case LogLevel::Info: return "<6>";
        case LogLevel::Warning: return "<4>";
        case LogLevel::Error: return "<3>";
    }
    return "<6>";
}

// "int vigil::{anonymous}::serve(const Options&, Config)" -> "serve".
std::string_view short_name(std::string_view fn) {
    size_t paren = fn.find('(');
    if (paren != std::string_view::npos) fn = fn.substr(0, paren);
    size_t colon = fn.rfind("::");
    if (colon != std::string_view::npos) fn = fn.substr(colon + 2);
    size_t space = fn.rfind(' ');
    return space == std::string_view::npos ? fn : fn.substr(space + 1);
}

}  // namespace

void set_log_level(LogLevel min) { g_min_level = min; }

void write_log(LogLevel level, const std::source_location& where, std::string_view text) {
    if (level < g_min_level.load()) return;
    // One write() per line so lines from worker threads never interleave.
    std::string line = fmt::format("{}{}: {}\n", prefix(level), short_name(where.function_name()), text);
    ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
    (void)ignored;
}

}  // namespace vigil
