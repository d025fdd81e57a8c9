#include "file_stamp.h"

#include <sys/stat.h>

namespace vigil {
namespace {

int64_t nanoseconds(const timespec& t) { return int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec; }

}  // namespace

FileStamp file_stamp(const std::string& path, Symlinks symlinks) {
    struct stat st {};
    int rc = symlinks == Symlinks::Follow ? ::stat(path.c_str(), &st) : ::lstat(path.c_str(), &st);
    if (rc != 0) return {};
    return {true, st.st_dev, st.st_ino, st.st_size, nanoseconds(st.st_mtim), nanoseconds(st.st_ctim)};
}

}  // namespace vigil
