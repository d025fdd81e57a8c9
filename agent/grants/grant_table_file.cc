#include "grant_table_file.h"

#include <sys/stat.h>

#include <utility>

#include "log.h"

namespace vigil {
namespace {

int64_t nanoseconds(const timespec& t) { return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec; }

}  // namespace

GrantTableFile::GrantTableFile(std::string path) : path_(std::move(path)) {}

GrantTableFile::Version GrantTableFile::version_now() const {
    struct stat st {};
    if (::lstat(path_.c_str(), &st) != 0) return {};
    return {true, st.st_dev, st.st_ino, st.st_size, nanoseconds(st.st_mtim), nanoseconds(st.st_ctim)};
}

Result<GrantTable> GrantTableFile::load() {
    Version now = version_now();
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
