// Daemon log lines on stderr (journald captures them under systemd), each
// tagged with the function that wrote it, OpenSSH fatal_fr() style.
//
//   log_warn("refused peer uid {}", uid);
//   log_event(Event::ReloadOk, LogLevel::Info, "reloaded {}", path);   // + MESSAGE_ID
//
// log_event lines also go to journald with the event's stable MESSAGE_ID
// (events.h); when stderr already is the journal (JOURNAL_STREAM), only
// there, so nothing is logged twice. The last warnings and errors are kept
// for `vigilctl status`.
#ifndef VIGIL_BASE_LOG_H
#define VIGIL_BASE_LOG_H

#include <fmt/format.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "events.h"
#include "source_location.h"

namespace vigil {

enum class LogLevel { Debug, Info, Warning, Error };

void set_log_level(LogLevel min);
// Whether a line at this level goes anywhere (stderr, or the problems kept
// for `vigilctl status`): below it, not even its text is formatted.
bool log_wanted(LogLevel level);
void write_log(LogLevel level, const SourceLocation& where, std::string_view text);
void write_event(Event event, LogLevel level, const SourceLocation& where, std::string_view text);

struct LoggedProblem {
    std::chrono::system_clock::time_point at;
    LogLevel level;
    std::string text;
};
inline constexpr size_t kRecentProblems = 16;
// The last kRecentProblems warnings and errors, oldest first.
std::vector<LoggedProblem> recent_problems();

template <class... Args>
struct log_at {
    log_at(LogLevel level, fmt::format_string<Args...> f, Args&&... args,
           const SourceLocation& where = SourceLocation::current()) {
        if (log_wanted(level)) write_log(level, where, fmt::format(f, std::forward<Args>(args)...));
    }
};

template <class... Args>
struct log_event {
    log_event(Event event, LogLevel level, fmt::format_string<Args...> f, Args&&... args,
              const SourceLocation& where = SourceLocation::current()) {
        write_event(event, level, where, fmt::format(f, std::forward<Args>(args)...));
    }
};
template <class... Args>
log_event(Event, LogLevel, fmt::format_string<Args...>, Args&&...) -> log_event<Args...>;

#define VIGIL_LOG_FN(name, level)                                                                                    \
    template <class... Args>                                                                                         \
    struct name : log_at<Args...> {                                                                                  \
        name(fmt::format_string<Args...> f, Args&&... args, const SourceLocation& where = SourceLocation::current()) \
            : log_at<Args...>(level, f, std::forward<Args>(args)..., where) {}                                       \
    };                                                                                                               \
    template <class... Args>                                                                                         \
    name(fmt::format_string<Args...>, Args&&...) -> name<Args...>;

VIGIL_LOG_FN(log_debug, LogLevel::Debug)
VIGIL_LOG_FN(log_info, LogLevel::Info)
VIGIL_LOG_FN(log_warn, LogLevel::Warning)
VIGIL_LOG_FN(log_error, LogLevel::Error)
#undef VIGIL_LOG_FN

}  // namespace vigil

#endif
