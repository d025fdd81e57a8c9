#include "grant_format.h"

#include <cstdlib>
#include <cstring>

#include "decimal.h"

namespace vigil::nss {
namespace {

constexpr size_t kMaxFields = 9;  // a passwd row
constexpr size_t kMaxNameBytes = 32;
constexpr size_t kMaxGrantIdBytes = 64;
constexpr size_t kMaxTextBytes = 255;
constexpr uint64_t kMaxId = 4294967294;  // (uint32_t)-1 means "no id" to chown and setresuid
constexpr uint64_t kMaxExpiry = INT64_MAX;

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_printable(char c) { return c >= 0x20 && c <= 0x7e; }

// Takes the next "\n"-terminated line off rest; false at the end or when what
// is left has no "\n" (a truncated table).
bool take_line(std::string_view& rest, std::string_view& line) {
    if (rest.empty()) return false;
    const void* nl = std::memchr(rest.data(), '\n', rest.size());
    if (nl == nullptr) return false;
    size_t len = static_cast<size_t>(static_cast<const char*>(nl) - rest.data());
    line = std::string_view(rest.data(), len);
    rest = std::string_view(rest.data() + len + 1, rest.size() - len - 1);
    return true;
}

using Fields = std::string_view[kMaxFields];

// Splits line at each TAB. Returns the number of fields, kMaxFields + 1 when
// there are more than fit.
size_t split_fields(std::string_view line, Fields& out) {
    size_t n = 0;
    size_t start = 0;
    for (size_t i = 0; i <= line.size(); ++i) {
        if (i < line.size() && line[i] != '\t') continue;
        if (n == kMaxFields) return kMaxFields + 1;
        out[n++] = std::string_view(line.data() + start, i - start);
        start = i + 1;
    }
    return n;
}

// The portable subset of user and group names: what useradd accepts by
// default, minus the trailing "$" of Samba machine accounts.
bool valid_name(std::string_view s) {
    if (s.empty() || s.size() > kMaxNameBytes) return false;
    if (!is_alpha(s[0]) && s[0] != '_') return false;
    for (char c : s) {
        if (!is_alpha(c) && !is_digit(c) && c != '_' && c != '.' && c != '-') return false;
    }
    return true;
}

bool valid_grant_id(std::string_view s) {
    if (s.empty() || s.size() > kMaxGrantIdBytes) return false;
    for (char c : s) {
        if (!is_alpha(c) && !is_digit(c) && c != '_' && c != '.' && c != '-') return false;
    }
    return true;
}

// ":" would split the line getent and /etc/passwd-style readers print.
bool valid_gecos(std::string_view s) {
    if (s.size() > kMaxTextBytes) return false;
    for (char c : s) {
        if (!is_printable(c) || c == ':') return false;
    }
    return true;
}

bool valid_path(std::string_view s) {
    if (s.empty() || s.size() > kMaxTextBytes || s[0] != '/') return false;
    for (char c : s) {
        if (!is_printable(c) || c == ':' || c == ' ') return false;
    }
    return true;
}

// Strict decimal: digits only, no sign, no leading zero, at most max.
bool parse_decimal(std::string_view s, uint64_t max, uint64_t& out) {
    return wire::parse_decimal(s, max, out, wire::LeadingZeros::Refused);
}

bool parse_id(std::string_view s, uint32_t& out) {
    uint64_t v = 0;
    if (!parse_decimal(s, kMaxId, v) || v == 0) return false;
    out = static_cast<uint32_t>(v);
    return true;
}

// Each parse_* returns nullptr, or why the row is wrong.
const char* parse_group(const Fields& f, size_t n, GroupRow& row) {
    if (n != 4) return "group row: want 4 fields (group, name, gid, expires)";
    if (!valid_name(f[1])) return "group row: bad group name";
    if (!parse_id(f[2], row.gid)) return "group row: gid must be a decimal number from 1 to 4294967294";
    if (!parse_decimal(f[3], kMaxExpiry, row.expires)) return "group row: expires must be epoch seconds, or 0";
    row.name = f[1];
    return nullptr;
}

const char* parse_member(const Fields& f, size_t n, MemberRow& row) {
    if (n != 5) return "member row: want 5 fields (member, group, user, expires, grant_id)";
    if (!valid_name(f[1])) return "member row: bad group name";
    if (!valid_name(f[2])) return "member row: bad user name";
    if (!parse_decimal(f[3], kMaxExpiry, row.expires) || row.expires == 0) {
        return "member row: expires must be epoch seconds (a membership always ends)";
    }
    if (!valid_grant_id(f[4])) return "member row: bad grant id";
    row.group = f[1];
    row.user = f[2];
    row.grant_id = f[4];
    return nullptr;
}

const char* parse_passwd_fields(const Fields& f, PasswdRow& row) {
    if (!valid_name(f[1])) return "passwd row: bad account name";
    if (!parse_id(f[2], row.uid)) return "passwd row: uid must be a decimal number from 1 to 4294967294";
    if (!parse_id(f[3], row.gid)) return "passwd row: gid must be a decimal number from 1 to 4294967294";
    if (!valid_gecos(f[4])) return "passwd row: gecos must be printable ASCII without ':'";
    if (!valid_path(f[5])) return "passwd row: home must be an absolute path without spaces or ':'";
    if (!valid_path(f[6])) return "passwd row: shell must be an absolute path without spaces or ':'";
    if (!parse_decimal(f[7], kMaxExpiry, row.expires) || row.expires == 0) {
        return "passwd row: expires must be epoch seconds (an account always ends)";
    }
    if (!valid_grant_id(f[8])) return "passwd row: bad grant id";
    return nullptr;
}

const char* parse_passwd(const Fields& f, size_t n, PasswdRow& row) {
    if (n != 9) return "passwd row: want 9 fields (passwd, name, uid, gid, gecos, home, shell, expires, grant_id)";
    if (const char* why = parse_passwd_fields(f, row)) return why;
    row.name = f[1];
    row.gecos = f[4];
    row.home = f[5];
    row.shell = f[6];
    row.grant_id = f[8];
    return nullptr;
}

const char* parse_row(std::string_view line, Row& row) {
    Fields f;
    size_t n = split_fields(line, f);
    if (n > kMaxFields) return "too many fields";
    if (f[0] == "group") {
        row.kind = RowKind::Group;
        return parse_group(f, n, row.group);
    }
    if (f[0] == "member") {
        row.kind = RowKind::Member;
        return parse_member(f, n, row.member);
    }
    if (f[0] == "passwd") {
        row.kind = RowKind::Passwd;
        return parse_passwd(f, n, row.passwd);
    }
    return "unknown row kind (want group, member or passwd)";
}

// What the rules across rows compare: a name (and, for a membership, the
// user) and a numeric id.
struct RowKey {
    RowKind kind;
    std::string_view name;
    std::string_view user;
    uint32_t id;
    size_t line;
};

RowKey key_of(const Row& row, size_t line) {
    switch (row.kind) {
        case RowKind::Group: return {row.kind, row.group.name, {}, row.group.gid, line};
        case RowKind::Member: return {row.kind, row.member.group, row.member.user, 0, line};
        case RowKind::Passwd: return {row.kind, row.passwd.name, {}, row.passwd.uid, line};
    }
    return {};
}

// Why b may not follow a, or nullptr.
const char* conflict(const RowKey& a, const RowKey& b) {
    if (a.kind != b.kind) return nullptr;
    switch (b.kind) {
        case RowKind::Group:
            if (a.name == b.name) return "group row: the group is declared twice";
            if (a.id == b.id) return "group row: the gid is declared twice";
            return nullptr;
        case RowKind::Member:
            return a.name == b.name && a.user == b.user ? "member row: the membership is listed twice" : nullptr;
        case RowKind::Passwd:
            if (a.name == b.name) return "passwd row: the account is listed twice";
            if (a.id == b.id) return "passwd row: the uid is listed twice";
            return nullptr;
    }
    return nullptr;
}

bool group_declared(const RowKey* keys, size_t n, std::string_view group) {
    for (size_t i = 0; i < n; ++i) {
        if (keys[i].kind == RowKind::Group && keys[i].name == group) return true;
    }
    return false;
}

bool fail(FormatError* error, size_t line, const char* reason) {
    if (error != nullptr) *error = {line, reason};
    return false;
}

// Pairwise, so quadratic; kMaxTableRows bounds it.
bool check_across_rows(const RowKey* keys, size_t n, FormatError* error) {
    for (size_t j = 0; j < n; ++j) {
        for (size_t i = 0; i < j; ++i) {
            if (const char* why = conflict(keys[i], keys[j])) return fail(error, keys[j].line, why);
        }
        if (keys[j].kind == RowKind::Member && !group_declared(keys, n, keys[j].name)) {
            return fail(error, keys[j].line, "member row: the group is not declared by a group row");
        }
    }
    return true;
}

// The header, the framing and the row count (set in rows).
bool check_shape(std::string_view text, size_t& rows, FormatError* error) {
    if (text.size() > kMaxTableBytes) return fail(error, 0, "the table is larger than 1 MiB");
    std::string_view line;
    if (!take_line(text, line) || line != kTableHeader)
        return fail(error, 1, "the first line must be \"vigil-grants v1\"");
    rows = 0;
    while (take_line(text, line)) {
        if (++rows > kMaxTableRows) return fail(error, rows + 1, "more than 4096 rows");
    }
    if (!text.empty()) return fail(error, rows + 2, "the last line does not end in a newline (truncated?)");
    return true;
}

// Owns a malloc()ed array: no operator new inside the NSS module.
class KeyArray {
public:
    explicit KeyArray(size_t n) : keys_(static_cast<RowKey*>(std::calloc(n == 0 ? 1 : n, sizeof(RowKey)))) {}
    KeyArray(const KeyArray&) = delete;
    KeyArray& operator=(const KeyArray&) = delete;
    ~KeyArray() { std::free(keys_); }
    RowKey* get() const { return keys_; }

private:
    RowKey* keys_;
};

// Parses every row, collecting the keys check_across_rows compares.
bool check_rows(std::string_view text, RowKey* keys, FormatError* error) {
    std::string_view line;
    (void)take_line(text, line);  // the header, checked by check_shape
    size_t n = 0;
    Row row{};
    while (take_line(text, line)) {
        if (const char* why = parse_row(line, row)) return fail(error, n + 2, why);
        keys[n] = key_of(row, n + 2);
        ++n;
    }
    return true;
}

}  // namespace

bool validate_table(std::string_view text, FormatError* error) {
    size_t rows = 0;
    if (!check_shape(text, rows, error)) return false;
    KeyArray keys(rows);
    if (keys.get() == nullptr) return fail(error, 0, "out of memory");
    return check_rows(text, keys.get(), error) && check_across_rows(keys.get(), rows, error);
}

RowReader::RowReader(std::string_view text) : rest_(text) {
    std::string_view header;
    if (!take_line(rest_, header)) rest_ = {};
}

bool RowReader::next(Row& row) {
    std::string_view line;
    // A line that does not parse ends the walk; validate_table has refused
    // any table that has one.
    return take_line(rest_, line) && parse_row(line, row) == nullptr;
}

bool mentions_field(std::string_view text, std::string_view value) {
    if (value.empty()) return false;
    const char* begin = text.data();
    const char* end = begin + text.size();
    for (const char* p = begin; p < end;) {
        const void* hit = ::memmem(p, static_cast<size_t>(end - p), value.data(), value.size());
        if (hit == nullptr) return false;
        const char* at = static_cast<const char*>(hit);
        const char* after = at + value.size();
        if (at > begin && at[-1] == '\t' && after < end && (*after == '\t' || *after == '\n')) return true;
        p = at + 1;
    }
    return false;
}

std::string_view decimal(uint32_t v, char* buf) {
    char tmp[10];
    size_t n = 0;
    do {
        tmp[n++] = static_cast<char>('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (size_t i = 0; i < n; ++i) buf[i] = tmp[n - 1 - i];
    return {buf, n};
}

}  // namespace vigil::nss
