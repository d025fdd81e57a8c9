#include "grant_table.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <utility>

// The module's parser and file checks, compiled into vigil_core (see
// nss/meson.build): one definition of a valid table for both sides.
#include "atomic_file.h"
#include "grant_format.h"
#include "table_file.h"

namespace vigil {

const char* const kGrantTablePath = nss::kGrantTablePath;

namespace {

std::string str(std::string_view s) { return std::string(s); }

void add_row(GrantTable& table, const nss::Row& row) {
    switch (row.kind) {
        case nss::RowKind::Group: {
            const nss::GroupRow& g = row.group;
            table.groups.push_back({str(g.name), g.gid, static_cast<int64_t>(g.expires)});
            break;
        }
        case nss::RowKind::Member: {
            const nss::MemberRow& m = row.member;
            table.members.push_back({str(m.group), str(m.user), static_cast<int64_t>(m.expires), str(m.grant_id)});
            break;
        }
        case nss::RowKind::Passwd: {
            const nss::PasswdRow& p = row.passwd;
            table.accounts.push_back({str(p.name), p.uid, p.gid, str(p.gecos), str(p.home), str(p.shell),
                                      static_cast<int64_t>(p.expires), str(p.grant_id)});
            break;
        }
    }
}

// What to tell the admin about a file the module would refuse too.
std::string refusal(const std::string& path, nss::LoadStatus status) {
    switch (status) {
        case nss::LoadStatus::Ok:
        case nss::LoadStatus::Missing: return path + ": no such file";
        case nss::LoadStatus::CannotOpen: return fmt::format("{}: cannot open: {}", path, strerror(errno));
        case nss::LoadStatus::Symlink: return path + ": is a symbolic link; the table must be a regular file";
        case nss::LoadStatus::NotRegular: return path + ": not a regular file";
        case nss::LoadStatus::BadOwner: return fmt::format("{}: must be owned by root; run chown root {}", path, path);
        case nss::LoadStatus::Writable:
            return fmt::format("{}: writable by group or others; run chmod 644 {}", path, path);
        case nss::LoadStatus::TooLarge: return path + ": larger than 1 MiB";
        case nss::LoadStatus::ReadError: return fmt::format("{}: read failed: {}", path, strerror(errno));
        case nss::LoadStatus::OutOfMemory: return path + ": out of memory";
    }
    return path + ": unreadable";
}

template <class Row, class Same>
void put(std::vector<Row>& rows, Row row, Same same) {
    auto it = std::find_if(rows.begin(), rows.end(), [&](const Row& r) { return same(r, row); });
    if (it == rows.end()) {
        rows.push_back(std::move(row));
    } else {
        *it = std::move(row);
    }
}

// Moves the rows dead(row) says are over from rows to out.
template <class Row, class Dead>
void move_if(std::vector<Row>& rows, std::vector<Row>& out, Dead dead) {
    auto keep = std::stable_partition(rows.begin(), rows.end(), [&](const Row& r) { return !dead(r); });
    std::move(keep, rows.end(), std::back_inserter(out));
    rows.erase(keep, rows.end());
}

bool live(int64_t expires, int64_t now) { return expires >= 0 && nss::is_live(static_cast<uint64_t>(expires), now); }

}  // namespace

Result<GrantTable> parse_grant_table(std::string_view text) {
    nss::FormatError error{};
    if (!nss::validate_table(text, &error)) {
        if (error.line == 0) return err(error.reason);
        return err(fmt::format("line {}: {}", error.line, error.reason));
    }
    GrantTable table;
    nss::RowReader rows(text);
    for (nss::Row row; rows.next(row);) add_row(table, row);
    return table;
}

std::string format_grant_table(const GrantTable& table) {
    std::string out = fmt::format("{}\n", nss::kTableHeader);
    for (const GrantGroup& g : table.groups) out += fmt::format("group\t{}\t{}\t{}\n", g.name, g.gid, g.expires);
    for (const GrantMember& m : table.members) {
        out += fmt::format("member\t{}\t{}\t{}\t{}\n", m.group, m.user, m.expires, m.grant_id);
    }
    for (const GrantAccount& a : table.accounts) {
        out += fmt::format("passwd\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n", a.name, a.uid, a.gid, a.gecos, a.home, a.shell,
                           a.expires, a.grant_id);
    }
    return out;
}

Result<GrantTable> read_grant_table(const std::string& path) {
    nss::TableText text;
    nss::LoadStatus status = nss::load_table(path.c_str(), ::geteuid(), text);
    if (status == nss::LoadStatus::Missing) return GrantTable{};
    if (status != nss::LoadStatus::Ok) return err(refusal(path, status));
    Result<GrantTable> table = parse_grant_table(text.text());
    if (!table) return err(fmt::format("{}: {}", path, table.error().message));
    return table;
}

Status write_grant_table(const std::string& path, const GrantTable& table) {
    std::string text = format_grant_table(table);
    if (Result<GrantTable> check = parse_grant_table(text); !check) {
        return err(fmt::format("{}: not written: the new table is invalid: {}", path, check.error().message));
    }
    return write_file_atomically(path, text, 0644);
}

void put_member(GrantTable& table, GrantMember member) {
    put(table.members, std::move(member),
        [](const GrantMember& a, const GrantMember& b) { return a.group == b.group && a.user == b.user; });
}

void put_account(GrantTable& table, GrantAccount account) {
    put(table.accounts, std::move(account),
        [](const GrantAccount& a, const GrantAccount& b) { return a.name == b.name; });
}

std::optional<int64_t> next_expiry(const GrantTable& table) {
    std::optional<int64_t> first;
    auto see = [&](int64_t expires) {
        if (expires != 0 && (!first || expires < *first)) first = expires;
    };
    for (const GrantGroup& g : table.groups) see(g.expires);
    for (const GrantMember& m : table.members) see(m.expires);
    for (const GrantAccount& a : table.accounts) see(a.expires);
    return first;
}

GrantTable take_expired(GrantTable& table, int64_t now) {
    GrantTable ended;
    move_if(table.groups, ended.groups, [now](const GrantGroup& g) { return !live(g.expires, now); });
    auto group_ended = [&ended](const std::string& name) {
        return std::any_of(ended.groups.begin(), ended.groups.end(),
                           [&](const GrantGroup& g) { return g.name == name; });
    };
    move_if(table.members, ended.members,
            [&](const GrantMember& m) { return !live(m.expires, now) || group_ended(m.group); });
    move_if(table.accounts, ended.accounts, [now](const GrantAccount& a) { return !live(a.expires, now); });
    return ended;
}

}  // namespace vigil
