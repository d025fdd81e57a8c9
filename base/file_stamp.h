// What says a file may have changed since it was last read: its device,
// inode, size, mtime and ctime, as stat gives them. A rename over the path
// (a new inode) and an edit in place (size, mtime) both make a new stamp.
//
//   FileStamp seen = file_stamp("/etc/group", Symlinks::Follow);
//   ...
//   if (file_stamp("/etc/group", Symlinks::Follow) != seen) read_again();
#ifndef VIGIL_BASE_FILE_STAMP_H
#define VIGIL_BASE_FILE_STAMP_H

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace vigil {

struct FileStamp {
    bool exists = false;  // false: no such file (or stat failed); the rest is 0
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = 0;
    int64_t mtime_ns = 0;
    int64_t ctime_ns = 0;
    bool operator==(const FileStamp&) const = default;
};

// Follow: the file a symlink names (what a reader through the path sees);
// NoFollow: the path itself (a reader that refuses symlinks).
enum class Symlinks { Follow, NoFollow };

FileStamp file_stamp(const std::string& path, Symlinks symlinks);

}  // namespace vigil

#endif  // VIGIL_BASE_FILE_STAMP_H
