// The just-in-time grant table: groups and ephemeral accounts that vigild
// grants for a bounded time. vigild writes it; libnss_vigil.so.2 serves it
// to every process (getent, id, sudo's %group rules) and ignores expired
// rows by itself, so a grant ends on time even if vigild is dead. The format
// and its rules are in wire/grant_format.h and man libnss_vigil(8); this file
// uses the module's own parser, so what vigild writes the module accepts.
//
//   Result<GrantTable> table = read_grant_table(kGrantTablePath);  // no file: an empty table
//   if (!table) return table.error();            // "/var/lib/vigil/grants:4: member row: bad user name"
//   table->groups.push_back({"vigil-sudo", 64001, 0});
//   put_member(*table, {"vigil-sudo", "alice", now + 3600, request_id});
//   GrantTable ended = take_expired(*table, now);  // end the sessions that relied on these
//   Status s = write_grant_table(kGrantTablePath, *table);
#ifndef VIGIL_GRANTS_GRANT_TABLE_H
#define VIGIL_GRANTS_GRANT_TABLE_H

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "result.h"

namespace vigil {

// Where the module reads the table (fixed when the module is built).
extern const char* const kGrantTablePath;

// A group the table declares; served while live. expires 0: never.
struct GrantGroup {
    std::string name;
    uint32_t gid = 0;
    int64_t expires = 0;
    bool operator==(const GrantGroup&) const = default;
};

// user is a member of group (declared by a GrantGroup) until expires.
struct GrantMember {
    std::string group;
    std::string user;
    int64_t expires = 0;
    std::string grant_id;
    bool operator==(const GrantMember&) const = default;
};

// An ephemeral account, until expires.
struct GrantAccount {
    std::string name;
    uint32_t uid = 0;
    uint32_t gid = 0;
    std::string gecos;
    std::string home;
    std::string shell;
    int64_t expires = 0;
    std::string grant_id;
    bool operator==(const GrantAccount&) const = default;
};

// Every row of a table, expired or not, in file order within each kind.
struct GrantTable {
    std::vector<GrantGroup> groups;
    std::vector<GrantMember> members;
    std::vector<GrantAccount> accounts;
    bool operator==(const GrantTable&) const = default;
};

// The whole table or an error naming the first bad line ("line 4: ...").
Result<GrantTable> parse_grant_table(std::string_view text);

// The table as text: header, groups, members, accounts. Does not validate.
std::string format_grant_table(const GrantTable& table);

// Reads path with the module's checks (a regular file, not a symlink, owned
// by root or the effective uid, not group/other-writable, at most 1 MiB) and
// parses it. A missing file is an empty table: nothing was ever granted.
Result<GrantTable> read_grant_table(const std::string& path);

// Replaces path atomically: validates the text first (an invalid table is
// refused and the old file left alone), writes a temp file in the same
// directory, fsyncs it, renames it over path and fsyncs the directory, so a
// reader sees the old table or the new one, never a partial one. Mode 0644,
// owned by the caller (the module serves it only if that is root).
Status write_grant_table(const std::string& path, const GrantTable& table);

// Adds the membership, or replaces the row for the same group and user.
void put_member(GrantTable& table, GrantMember member);
// Adds the account, or replaces the row with the same name.
void put_account(GrantTable& table, GrantAccount account);

// The first time a row of table stops being live (the smallest expires
// that is not 0), or nullopt when none ever does: until then, what NSS
// serves from the table can change only with the file.
std::optional<int64_t> next_expiry(const GrantTable& table);

// Moves every row no longer live at now out of table and returns them: the
// expired groups, accounts and memberships, and the memberships of expired
// groups.
GrantTable take_expired(GrantTable& table, int64_t now);

}  // namespace vigil

#endif
