#include "user_groups.h"

#include <cstdlib>

#include "grant_format.h"
#include "nss_result.h"
#include "table_cache.h"

namespace vigil::nss {
namespace {

// The gid of the live group named name, or false.
bool live_gid(std::string_view text, std::string_view name, int64_t now, gid_t& gid) {
    RowReader rows(text);
    for (Row row; rows.next(row);) {
        if (row.kind == RowKind::Group && row.group.name == name && is_live(row.group.expires, now)) {
            gid = row.group.gid;
            return true;
        }
    }
    return false;
}

bool contains(const gid_t* gids, long n, gid_t gid) {
    for (long i = 0; i < n; ++i) {
        if (gids[i] == gid) return true;
    }
    return false;
}

// Makes room for one more entry. False only when realloc() fails; a full
// array at the caller's limit is not an error (nss_files stops there too).
bool make_room(long* start, long* size, gid_t** groups, long limit, bool& at_limit) {
    at_limit = false;
    if (*start < *size) return true;
    if (limit > 0 && *size >= limit) {
        at_limit = true;
        return true;
    }
    long grow = *size > 0 ? *size * 2 : 16;
    if (limit > 0 && grow > limit) grow = limit;
    void* p = std::realloc(*groups, static_cast<size_t>(grow) * sizeof(gid_t));
    if (p == nullptr) return false;
    *groups = static_cast<gid_t*>(p);
    *size = grow;
    return true;
}

bool append(gid_t gid, gid_t skip, long* start, long* size, gid_t** groups, long limit) {
    if (gid == skip || contains(*groups, *start, gid)) return true;
    bool at_limit = false;
    if (!make_room(start, size, groups, limit, at_limit)) return false;
    if (!at_limit) (*groups)[(*start)++] = gid;
    return true;
}

}  // namespace

nss_status add_user_groups(const TableSource& source, const char* user, gid_t skip, long* start, long* size,
                           gid_t** groups, long limit, int* errnop) {
    if (user == nullptr || surely_absent(source, user)) return not_found(errnop);
    TableText table;
    if (!load_valid_table(source, table)) return not_found(errnop);
    std::string_view want(user);
    if (!mentions_field(table.text(), want)) return not_found(errnop);
    bool any = false;
    RowReader rows(table.text());
    for (Row row; rows.next(row);) {
        if (row.kind != RowKind::Member || row.member.user != want || !is_live(row.member.expires, source.now))
            continue;
        gid_t gid = 0;
        if (!live_gid(table.text(), row.member.group, source.now, gid)) continue;
        if (!append(gid, skip, start, size, groups, limit)) return out_of_memory(errnop);
        any = true;
    }
    return any ? found() : not_found(errnop);
}

}  // namespace vigil::nss
