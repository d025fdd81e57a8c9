#include "log.h"

#include <sys/stat.h>
#include <syslog.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>

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

int syslog_priority(LogLevel level) {
    switch (level) {
        case LogLevel::Debug: return LOG_DEBUG;
        case LogLevel::Info: return LOG_INFO;
        case LogLevel::Warning: return LOG_WARNING;
        case LogLevel::Error: return LOG_ERR;
    }
    return LOG_INFO;
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

// systemd sets JOURNAL_STREAM=<dev>:<inode> of the stream it connected to
// stderr; a child with stderr redirected elsewhere keeps the variable, so
// the numbers must match.
bool stderr_is_journal() {
    static const bool is = [] {
        const char* e = std::getenv("JOURNAL_STREAM");
        unsigned long long dev = 0, ino = 0;
        struct stat st {};
        if (e == nullptr || std::sscanf(e, "%llu:%llu", &dev, &ino) != 2 || ::fstat(STDERR_FILENO, &st) != 0) {
            return false;
        }
        return st.st_dev == dev && st.st_ino == ino;
    }();
    return is;
}

std::mutex g_problems_mu;
std::deque<LoggedProblem> g_problems;

void remember_problem(LogLevel level, std::string_view text) {
    if (level < LogLevel::Warning) return;
    std::lock_guard lock(g_problems_mu);
    g_problems.push_back({std::chrono::system_clock::now(), level, std::string(text)});
    if (g_problems.size() > kRecentProblems) g_problems.pop_front();
}

void write_stderr(LogLevel level, const SourceLocation& where, std::string_view text) {
    // One write() per line so lines from worker threads never interleave.
    std::string line = fmt::format("{}{}: {}\n", prefix(level), short_name(where.function_name()), text);
    ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
    (void)ignored;
}

}  // namespace

void set_log_level(LogLevel min) { g_min_level = min; }

bool log_wanted(LogLevel level) { return level >= LogLevel::Warning || level >= g_min_level.load(); }

void write_log(LogLevel level, const SourceLocation& where, std::string_view text) {
    remember_problem(level, text);
    if (level < g_min_level.load()) return;
    write_stderr(level, where, text);
}

void write_event(Event event, LogLevel level, const SourceLocation& where, std::string_view text) {
    remember_problem(level, text);
    const EventInfo& info = event_info(event);
    std::string line(text), func(short_name(where.function_name()));
    std::string file = fmt::format("CODE_FILE={}", where.file_name()), at = fmt::format("CODE_LINE={}", where.line());
    // Best effort, like journal_decision: without journald it goes nowhere.
    sd_journal_send_with_location(file.c_str(), at.c_str(), func.c_str(), "MESSAGE=%s: %s", func.c_str(), line.c_str(),
                                  "MESSAGE_ID=%s", info.message_id, "PRIORITY=%d", syslog_priority(level),
                                  "SYSLOG_IDENTIFIER=vigild", "VIGIL_EVENT=%s", info.name, nullptr);
    if (!stderr_is_journal() && level >= g_min_level.load()) write_stderr(level, where, text);
}

std::vector<LoggedProblem> recent_problems() {
    std::lock_guard lock(g_problems_mu);
    return {g_problems.begin(), g_problems.end()};
}

}  // namespace vigil
