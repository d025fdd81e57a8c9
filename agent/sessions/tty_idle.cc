#include "tty_idle.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace vigil {

namespace {
// The kernel's granularity for terminal timestamps (drivers/tty/tty_io.c,
// tty_update_time: only the bits above the lowest three change).
constexpr int64_t kStampWindow = 8;
}  // namespace

std::optional<int64_t> input_bound(int64_t atime, int64_t now) {
    if (atime > now) return std::nullopt;
    return std::min((atime & ~(kStampWindow - 1)) + kStampWindow, now);
}

std::chrono::seconds idle_since(int64_t last_input, int64_t now) {
    return std::chrono::seconds(now > last_input ? now - last_input : 0);
}

Result<int64_t> tty_atime(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return err(fmt::format("{}: {}", path, std::strerror(errno)));
    if (!S_ISCHR(st.st_mode)) return err(fmt::format("{}: not a terminal device", path));
    return static_cast<int64_t>(st.st_atim.tv_sec);
}

}  // namespace vigil
