#include "tty_idle.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace vigil {

namespace {
// The kernel's granularity for terminal timestamps (drivers/tty/tty_io.c,
// tty_update_time: only the bits above the lowest three change).
constexpr int64_t kStampWindow = 8;
}  // namespace

std::chrono::seconds idle_since_input(int64_t atime, int64_t now) {
    int64_t window_end = (atime & ~(kStampWindow - 1)) + kStampWindow;
    return std::chrono::seconds(now > window_end ? now - window_end : 0);
}

Result<std::chrono::seconds> tty_idle(const std::string& path, std::chrono::system_clock::time_point now) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return err(fmt::format("{}: {}", path, std::strerror(errno)));
    if (!S_ISCHR(st.st_mode)) return err(fmt::format("{}: not a terminal device", path));
    auto secs = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    return idle_since_input(static_cast<int64_t>(st.st_atim.tv_sec), secs);
}

}  // namespace vigil
