// Replaces a file's contents all at once: a reader (libnss_vigil, the
// node_exporter textfile collector) sees the old file or the new one, never
// part of either. The text goes to a temp file beside the target (same
// filesystem, so rename() is atomic), is fsynced, renamed over the target,
// and the directory is fsynced so a crash cannot bring the old file back.
//
//   Status s = write_file_atomically("/var/lib/vigil/grants", text, 0644);
//
// The temp file is named "<path>.tmp-XXXXXX": it never ends in the
// target's suffix (".prom"), so collectors that glob for it skip it.
#ifndef VIGIL_BASE_ATOMIC_FILE_H
#define VIGIL_BASE_ATOMIC_FILE_H

#include <sys/types.h>

#include <string>
#include <string_view>

#include "result.h"

namespace vigil {

[[nodiscard]] Status write_file_atomically(const std::string& path, std::string_view text, mode_t mode);

}  // namespace vigil

#endif
