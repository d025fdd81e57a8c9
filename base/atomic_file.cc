#include "atomic_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "fd_io.h"
#include "unique_fd.h"

namespace vigil {
namespace {

std::string directory_of(const std::string& path) {
    size_t slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

Status write_all(int fd, std::string_view text) {
    if (!wire::write_full(fd, text.data(), text.size())) return err(strerror(errno));
    return Ok{};
}

// Unlinks the temp file unless it was renamed into place.
struct TempFile {
    std::string path;
    bool keep = false;
    TempFile() = default;
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    ~TempFile() {
        if (!path.empty() && !keep) ::unlink(path.c_str());
    }
};

// Creates, fills and fsyncs a temp file next to path.
Status write_temp(const std::string& path, std::string_view text, mode_t mode, TempFile& temp) {
    std::string name = path + ".tmp-XXXXXX";
    UniqueFd fd(::mkostemp(name.data(), O_CLOEXEC));
    if (!fd) return err(fmt::format("{}: cannot create a temp file: {}", name, strerror(errno)));
    temp.path = name;
    if (::fchmod(fd.get(), mode) != 0) return err(fmt::format("{}: chmod: {}", name, strerror(errno)));
    if (Status s = write_all(fd.get(), text); !s) return err(fmt::format("{}: write: {}", name, s.error().message));
    // After a successful fsync, close() has nothing left to report.
    if (::fsync(fd.get()) != 0) return err(fmt::format("{}: fsync: {}", name, strerror(errno)));
    return Ok{};
}

Status sync_directory(const std::string& dir) {
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) return err(fmt::format("{}: cannot open: {}", dir, strerror(errno)));
    if (::fsync(fd.get()) != 0) return err(fmt::format("{}: fsync: {}", dir, strerror(errno)));
    return Ok{};
}

}  // namespace

Status write_file_atomically(const std::string& path, std::string_view text, mode_t mode) {
    TempFile temp;
    if (Status s = write_temp(path, text, mode, temp); !s) return s;
    if (::rename(temp.path.c_str(), path.c_str()) != 0) {
        return err(fmt::format("{}: cannot rename {} over it: {}", path, temp.path, strerror(errno)));
    }
    temp.keep = true;
    return sync_directory(directory_of(path));
}

}  // namespace vigil
