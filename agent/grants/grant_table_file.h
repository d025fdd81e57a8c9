// The grant table file as vigild keeps it: parsed once per version of the
// file, not at every look (a session opening, the sweep every second), and
// never lost to a bad copy on disk.
//
// A version is the file's identity (device, inode, size, mtime, ctime): a
// rename by vigild or an edit by an admin makes a new one. When the file as
// it now is cannot be read or does not validate (cut short by a full disk,
// edited by hand into something invalid), that is logged once, and the last
// table vigild read or wrote stands in for it: vigild is the table's only
// writer, so its next change writes the good table back. Until then the NSS
// module, which serves a table whole or not at all, serves nothing from it.
//
//   GrantTableFile file("/var/lib/vigil/grants");
//   auto table = file.load();        // cached while the file is unchanged
//   file.store(*table);              // atomically, then cached
// Not thread-safe: Grants calls it under its lock.
#ifndef VIGIL_GRANTS_GRANT_TABLE_FILE_H
#define VIGIL_GRANTS_GRANT_TABLE_FILE_H

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "file_stamp.h"
#include "grant_table.h"
#include "result.h"

namespace vigil {

class GrantTableFile {
public:
    explicit GrantTableFile(std::string path);

    // The table: the file's, or the last good one when the file is bad. An
    // error only when the file is bad and no good table was ever seen.
    Result<GrantTable> load();
    Status store(const GrantTable& table);
    const std::string& path() const { return path_; }

private:
    FileStamp version_now() const;

    std::string path_;
    std::optional<FileStamp> seen_;   // the version last read (or written)
    std::optional<GrantTable> good_;  // the last table that read or wrote well
    std::string problem_;             // why the version seen is refused; empty when it is fine
};

}  // namespace vigil

#endif
