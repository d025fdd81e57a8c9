#include "passwd_lookup.h"

#include "entry_buffer.h"
#include "grant_format.h"
#include "nss_result.h"
#include "table_cache.h"

namespace vigil::nss {
namespace {

// *out is written only when everything fitted.
nss_status fill_passwd(const PasswdRow& p, passwd* out, char* buf, size_t len, int* errnop) {
    EntryBuffer b(buf, len);
    passwd entry{};
    entry.pw_name = b.copy(p.name);
    entry.pw_passwd = b.copy("*");
    entry.pw_uid = p.uid;
    entry.pw_gid = p.gid;
    entry.pw_gecos = b.copy(p.gecos);
    entry.pw_dir = b.copy(p.home);
    entry.pw_shell = b.copy(p.shell);
    if (b.full()) return buffer_too_small(errnop);
    *out = entry;
    return found();
}

// The first live passwd row that match accepts. needle: a field such a row
// must hold (empty: any row may match).
template <class Match>
nss_status find_passwd(const TableSource& source, std::string_view needle, Match match, passwd* out, char* buf,
                       size_t len, int* errnop) {
    if (surely_absent(source, needle)) return not_found(errnop);
    TableText table;
    if (!load_valid_table(source, table)) return not_found(errnop);
    if (!needle.empty() && !mentions_field(table.text(), needle)) return not_found(errnop);
    RowReader rows(table.text());
    for (Row row; rows.next(row);) {
        if (row.kind != RowKind::Passwd || !is_live(row.passwd.expires, source.now)) continue;
        if (match(row.passwd)) return fill_passwd(row.passwd, out, buf, len, errnop);
    }
    return not_found(errnop);
}

}  // namespace

nss_status passwd_by_name(const TableSource& source, const char* name, passwd* out, char* buf, size_t len,
                          int* errnop) {
    if (name == nullptr) return not_found(errnop);
    std::string_view want(name);
    return find_passwd(
        source, want, [want](const PasswdRow& p) { return p.name == want; }, out, buf, len, errnop);
}

nss_status passwd_by_uid(const TableSource& source, uid_t uid, passwd* out, char* buf, size_t len, int* errnop) {
    char text[11];
    return find_passwd(
        source, decimal(uid, text), [uid](const PasswdRow& p) { return p.uid == uid; }, out, buf, len, errnop);
}

nss_status passwd_at(const TableSource& source, size_t index, passwd* out, char* buf, size_t len, int* errnop) {
    size_t seen = 0;
    return find_passwd(
        source, {}, [&seen, index](const PasswdRow&) { return seen++ == index; }, out, buf, len, errnop);
}

}  // namespace vigil::nss
