#include "grant_table_file.h"

#include <utility>

#include "log.h"

namespace vigil {

GrantTableFile::GrantTableFile(std::string path) : path_(std::move(path)) {}

// Not through a symlink: the module refuses one, and so does the reader.
FileStamp GrantTableFile::version_now() const { return file_stamp(path_, Symlinks::NoFollow); }

Result<GrantTable> GrantTableFile::load() {
    FileStamp now = version_now();
    if (!seen_ || !(*seen_ == now)) {
        seen_ = now;
        Result<GrantTable> read = read_grant_table(path_);
        if (read) {
            if (!problem_.empty()) log_info("grants: {} reads well again", path_);
            problem_.clear();
            good_ = std::move(*read);
        } else {
            problem_ = read.error().message;
            log_error("grants: {}; the module serves nothing from it{}", problem_,
                      good_ ? "; vigild keeps the grants it knew of and writes them back at the next change" : "");
        }
    }
    if (good_) return *good_;
    return err(problem_);
}

Status GrantTableFile::store(const GrantTable& table) {
    if (Status s = write_grant_table(path_, table); !s) return s;
    good_ = table;
    seen_ = version_now();
    if (!problem_.empty()) log_info("grants: {} written again from the grants vigild knew of", path_);
    problem_.clear();
    return Ok{};
}

}  // namespace vigil
