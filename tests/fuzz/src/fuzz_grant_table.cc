// The grant table as libnss_vigil.so.2 reads it, in every process that
// resolves a user. Only root can write the real table, but a half-written
// copy, a disk error or a bug in the writer must leave the module serving
// nothing, with no crash and no write outside the caller's buffer.
//
// The bytes go to a file (the lookups read files, through the module's
// cache); each input gets its own mtime so the cache never serves the last
// input's table for this one.
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "grant_format.h"
#include "group_lookup.h"
#include "passwd_lookup.h"
#include "table_file.h"
#include "user_groups.h"

namespace {

using vigil::nss::TableSource;

// tmpfs: on ext4, rewriting a truncated file waits for the disk at close.
// A plain array, so the atexit cleanup never reads a destroyed string.
char table_file[] = "/dev/shm/vigil-fuzz-grants.XXXXXX";

const char* table_path() {
    static const bool made = [] {
        int fd = ::mkstemp(table_file);
        if (fd < 0) std::abort();
        ::close(fd);
        std::atexit([] { ::unlink(table_file); });
        return true;
    }();
    (void)made;
    return table_file;
}

bool write_table(const uint8_t* data, size_t size) {
    static int64_t generation = 0;
    int fd = ::open(table_path(), O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0) return false;
    bool ok = ::fchmod(fd, 0644) == 0 && ::write(fd, data, size) == static_cast<ssize_t>(size);
    ++generation;
    timespec times[2] = {{generation, 0}, {generation, 0}};
    ok = ok && ::futimens(fd, times) == 0;
    ::close(fd);
    return ok;
}

// Every lookup the module answers, into a roomy buffer and a cramped one.
void look_up_all(const TableSource& src, bool valid) {
    for (size_t len : {size_t{4096}, size_t{24}}) {
        char buf[4096];
        group gr{};
        passwd pw{};
        int err = 0;
        bool found = false;
        found |= vigil::nss::group_by_name(src, "vigil-sudo", &gr, buf, len, &err) == NSS_STATUS_SUCCESS;
        found |= vigil::nss::group_by_gid(src, 64001, &gr, buf, len, &err) == NSS_STATUS_SUCCESS;
        found |= vigil::nss::passwd_by_name(src, "tmp-alice", &pw, buf, len, &err) == NSS_STATUS_SUCCESS;
        found |= vigil::nss::passwd_by_uid(src, 64100, &pw, buf, len, &err) == NSS_STATUS_SUCCESS;
        for (size_t i = 0; i < 8; ++i) {
            found |= vigil::nss::group_at(src, i, &gr, buf, len, &err) == NSS_STATUS_SUCCESS;
            found |= vigil::nss::passwd_at(src, i, &pw, buf, len, &err) == NSS_STATUS_SUCCESS;
        }
        long start = 1, size = 1;
        auto* gids = static_cast<gid_t*>(std::malloc(sizeof(gid_t)));
        gids[0] = 100;
        vigil::nss::add_user_groups(src, "alice", 100, &start, &size, &gids, len == 24 ? 2 : 0, &err);
        found |= start > 1;
        std::free(gids);
        // A table that does not validate serves nothing at all.
        if (found && !valid) __builtin_trap();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    vigil::nss::FormatError error{};
    bool valid = vigil::nss::validate_table(text, &error);
    if (valid) {
        vigil::nss::Row row;
        for (vigil::nss::RowReader rows(text); rows.next(row);) {
        }
    }
    if (!write_table(data, size)) return 0;
    // now inside every row's life, and after all of them.
    for (int64_t now : {int64_t{1780000000}, int64_t{4102444800}}) look_up_all({table_path(), ::geteuid(), now}, valid);
    return 0;
}
