#include "group_lookup.h"

#include "entry_buffer.h"
#include "grant_format.h"
#include "nss_result.h"
#include "table_cache.h"

namespace vigil::nss {
namespace {

bool is_live_member(const Row& row, std::string_view group, int64_t now) {
    return row.kind == RowKind::Member && row.member.group == group && is_live(row.member.expires, now);
}

size_t count_members(std::string_view text, std::string_view group, int64_t now) {
    size_t n = 0;
    RowReader rows(text);
    for (Row row; rows.next(row);) n += is_live_member(row, group, now) ? 1 : 0;
    return n;
}

// Copies the group and its live members into the caller's buffer. *out is
// written only when everything fitted.
nss_status fill_group(std::string_view text, const GroupRow& g, int64_t now, group* out, char* buf, size_t len,
                      int* errnop) {
    EntryBuffer b(buf, len);
    char** members = b.pointers(count_members(text, g.name, now) + 1);
    group entry{};
    entry.gr_name = b.copy(g.name);
    entry.gr_passwd = b.copy("*");  // no group password
    entry.gr_gid = g.gid;
    size_t n = 0;
    RowReader rows(text);
    for (Row row; rows.next(row);) {
        if (!is_live_member(row, g.name, now)) continue;
        char* user = b.copy(row.member.user);
        if (members != nullptr && user != nullptr) members[n++] = user;
    }
    if (b.full()) return buffer_too_small(errnop);
    members[n] = nullptr;
    entry.gr_mem = members;
    *out = entry;
    return found();
}

// The first live group row that match accepts, served with its members.
// needle: a field such a row must hold (empty: any row may match).
template <class Match>
nss_status find_group(const TableSource& source, std::string_view needle, Match match, group* out, char* buf,
                      size_t len, int* errnop) {
    if (surely_absent(source, needle)) return not_found(errnop);
    TableText table;
    if (!load_valid_table(source, table)) return not_found(errnop);
    if (!needle.empty() && !mentions_field(table.text(), needle)) return not_found(errnop);
    RowReader rows(table.text());
    for (Row row; rows.next(row);) {
        if (row.kind != RowKind::Group || !is_live(row.group.expires, source.now)) continue;
        if (match(row.group)) return fill_group(table.text(), row.group, source.now, out, buf, len, errnop);
    }
    return not_found(errnop);
}

}  // namespace

nss_status group_by_name(const TableSource& source, const char* name, group* out, char* buf, size_t len, int* errnop) {
    if (name == nullptr) return not_found(errnop);
    std::string_view want(name);
    return find_group(
        source, want, [want](const GroupRow& g) { return g.name == want; }, out, buf, len, errnop);
}

nss_status group_by_gid(const TableSource& source, gid_t gid, group* out, char* buf, size_t len, int* errnop) {
    char text[11];
    return find_group(
        source, decimal(gid, text), [gid](const GroupRow& g) { return g.gid == gid; }, out, buf, len, errnop);
}

nss_status group_at(const TableSource& source, size_t index, group* out, char* buf, size_t len, int* errnop) {
    size_t seen = 0;
    return find_group(
        source, {}, [&seen, index](const GroupRow&) { return seen++ == index; }, out, buf, len, errnop);
}

}  // namespace vigil::nss
