#include "small_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "fd_io.h"
#include "trusted_path.h"
#include "unique_fd.h"

namespace vigil::posture {

Result<SmallFile> read_small_file(const std::string& path, size_t max_bytes, const TrustedIds& trusted) {
    auto opened = open_trusted(path, trusted, O_RDONLY);
    if (!opened) return opened.error();
    if (!*opened) return SmallFile{};
    UniqueFd fd = std::move(**opened);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return err(fmt::format("cannot stat {}: {}", path, std::strerror(errno)));
    if (!S_ISREG(st.st_mode)) return err(fmt::format("{} is not a regular file", path));
    // sysfs and procfs report a size of 0 or 4096 whatever they hold, so the
    // cap is enforced on what read() returns, not on st_size.
    auto since_epoch = std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec);
    SmallFile f{true,
                {},
                std::chrono::system_clock::time_point(
                    std::chrono::duration_cast<std::chrono::system_clock::duration>(since_epoch))};
    char buf[4096];
    for (;;) {
        ssize_t n = wire::read_full(fd.get(), buf, sizeof buf);
        if (n < 0) return err(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
        if (f.text.size() + static_cast<size_t>(n) > max_bytes) {
            return err(fmt::format("{} is larger than {} bytes", path, max_bytes));
        }
        f.text.append(buf, static_cast<size_t>(n));
        if (static_cast<size_t>(n) < sizeof buf) return f;
    }
}

}  // namespace vigil::posture
