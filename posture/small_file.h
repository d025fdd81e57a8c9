// Reads the small files posture comes from (sysfs and procfs values, agent
// state files, the Falcon ZTA token) whole, with a cap on their size, and
// only when nobody but a trusted account could have written them (see
// trusted_path.h: owner, mode and every directory above).
//
//   auto f = read_small_file("/sys/fs/selinux/enforce", 64, trusted_ids(""));
//   if (!f) return f.error();                 // untrusted, unreadable, too large, not a file
//   if (!f->exists) return "absent";
//   use(f->text);
//
// A file that does not exist is an answer, not an error: for most host facts
// "absent" is the fact. Anything but a regular file (a FIFO someone put in
// its place, a device) is refused without blocking.
#ifndef VIGIL_POSTURE_SMALL_FILE_H
#define VIGIL_POSTURE_SMALL_FILE_H

#include <chrono>
#include <cstddef>
#include <string>

#include "result.h"
#include "trusted_ids.h"

namespace vigil::posture {

struct SmallFile {
    bool exists = false;
    std::string text;
    std::chrono::system_clock::time_point modified;  // st_mtime, when it exists
};

Result<SmallFile> read_small_file(const std::string& path, size_t max_bytes, const TrustedIds& trusted);

}  // namespace vigil::posture

#endif
