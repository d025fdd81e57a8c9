// Daemon log lines on stderr (journald captures them under systemd), each
// tagged with the function that wrote it, OpenSSH fatal_fr() style.
//
//   log_warn("refused peer uid {}", uid);
#ifndef VIGIL_AGENT_LOG_H
#define VIGIL_AGENT_LOG_H

#include <fmt/format.h>

#include <source_location>
#include <string_view>

namespace vigil {

enum class LogLevel { Debug, Info, Warning, Error };

void set_log_level(LogLevel min);
void write_log(LogLevel level, const std::source_location& where, std::string_view text);

template <class... Args>
struct log_at {
    log_at(LogLevel level, fmt::format_string<Args...> f, Args&&... args,
           const std::source_location& where = std::source_location::current()) {
        write_log(level, where, fmt::format(f, std::forward<Args>(args)...));
    }
};

#define VIGIL_LOG_FN(name, level)                                                 \
    template <class... Args>                                                      \
    struct name : log_at<Args...> {                                               \
        name(fmt::format_string<Args...> f, Args&&... args,                       \
             const std::source_location& where = std::source_location::current()) \
            : log_at<Args...>(level, f, std::forward<Args>(args)..., where) {}    \
    };                                                                            \
    template <class... Args>                                                      \
    name(fmt::format_string<Args...>, Args&&...) -> name<Args...>;

VIGIL_LOG_FN(log_debug, LogLevel::Debug)
VIGIL_LOG_FN(log_info, LogLevel::Info)
VIGIL_LOG_FN(log_warn, LogLevel::Warning)
VIGIL_LOG_FN(log_error, LogLevel::Error)
#undef VIGIL_LOG_FN

}  // namespace vigil

#endif
