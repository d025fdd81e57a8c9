// The grant table: the file vigild writes (agent/grants/grant_table.h) and
// libnss_vigil.so.2 serves. This parser is compiled into both, so the writer
// and the module can never disagree about what a valid table is. It must stay
// usable inside every process that resolves a user: libc only, no exceptions,
// no globals with constructors.
//
// Text, one row per line, fields separated by a single TAB, every line ending
// in "\n" (man libnss_vigil(8) has the same description for admins):
//
//   vigil-grants v1
//   group   <name>   <gid>   <expires>
//   member  <group>  <user>  <expires>  <grant_id>
//   passwd  <name>   <uid>   <gid>  <gecos>  <home>  <shell>  <expires>  <grant_id>
//
// - The first line is exactly "vigil-grants v1"; nothing else may be blank.
// - name, group, user: 1-32 of [A-Za-z0-9_.-], starting with a letter or "_".
// - uid, gid: decimal, 1..4294967294, no sign or leading zero; 0 is refused
//   so that no grant can mint a second root.
// - expires: seconds since the epoch, decimal. A row is live while
//   now < expires. Only group rows may say 0, meaning "never".
// - grant_id: 1-64 of [A-Za-z0-9._-]; names the decision that granted it.
// - gecos: 0-255 printable ASCII bytes without ":". home, shell: absolute
//   paths, 1-255 printable ASCII bytes without space or ":".
// - A group name or gid is declared once; an account name or uid is listed
//   once; a (group, user) membership is listed once; a member row names a
//   group declared by a group row in the same table.
// - At most kMaxTableBytes bytes and kMaxTableRows rows.
//
// One malformed line makes the whole table invalid: a reader serves all of a
// table or none of it, never what happened to parse.
//
//   vigil::nss::FormatError error;
//   if (!vigil::nss::validate_table(text, &error)) report(error.line, error.reason);
//   vigil::nss::RowReader rows(text);
//   for (vigil::nss::Row row; rows.next(row);) use(row);
#ifndef VIGIL_WIRE_GRANT_FORMAT_H
#define VIGIL_WIRE_GRANT_FORMAT_H

#include <cstddef>
#include <cstdint>
#include <string_view>

// A build may move the table (both vigild and the module must see the same
// definition, so define it project-wide).
#ifndef VIGIL_GRANT_TABLE_PATH
#define VIGIL_GRANT_TABLE_PATH "/var/lib/vigil/grants"
#endif

namespace vigil::nss {

inline constexpr const char* kGrantTablePath = VIGIL_GRANT_TABLE_PATH;
inline constexpr std::string_view kTableHeader = "vigil-grants v1";
// Grants are a few dozen rows; the caps keep a lookup (which reads and checks
// the whole table, with pairwise duplicate checks) well under a millisecond
// for any table a real host has, and bounded for any table at all.
inline constexpr size_t kMaxTableBytes = 1024 * 1024;
inline constexpr size_t kMaxTableRows = 4096;

// A group declared by the table: served by getgrnam/getgrgid while live.
struct GroupRow {
    std::string_view name;
    uint32_t gid;
    uint64_t expires;  // 0: never
};

// user is a member of group until expires.
struct MemberRow {
    std::string_view group;
    std::string_view user;
    uint64_t expires;
    std::string_view grant_id;
};

// An ephemeral account, served by getpwnam/getpwuid until expires.
struct PasswdRow {
    std::string_view name;
    uint32_t uid;
    uint32_t gid;
    std::string_view gecos;
    std::string_view home;
    std::string_view shell;
    uint64_t expires;
    std::string_view grant_id;
};

enum class RowKind { Group, Member, Passwd };

// One row; only the member named by kind is meaningful. The views point into
// the table text.
struct Row {
    RowKind kind;
    GroupRow group;
    MemberRow member;
    PasswdRow passwd;
};

struct FormatError {
    size_t line;         // 1-based; 0 when the table as a whole is wrong
    const char* reason;  // a static string
};

// Checks the whole table: every line, then the rules across rows.
[[nodiscard]] bool validate_table(std::string_view text, FormatError* error);

// Walks the rows of a table that validate_table accepted, in file order.
class RowReader {
public:
    explicit RowReader(std::string_view text);
    bool next(Row& row);

private:
    std::string_view rest_;
};

// Whether value occurs in text as a whole field after the first of a line
// (TAB before it, TAB or newline after). A lookup whose name or id the table
// does not mention anywhere answers "not found" without parsing a row: most
// lookups on a host are for names that are not grants.
bool mentions_field(std::string_view text, std::string_view value);

// The decimal text of v into buf (at least 11 bytes); returns the view.
std::string_view decimal(uint32_t v, char* buf);

// Whether a row with this expiry is in force at now (seconds since the epoch).
constexpr bool is_live(uint64_t expires, int64_t now) {
    return expires == 0 || (now >= 0 && static_cast<uint64_t>(now) < expires);
}

}  // namespace vigil::nss

#endif
