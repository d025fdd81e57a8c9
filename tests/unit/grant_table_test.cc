// The grant table: its format (wire/grant_format.h), the NSS lookups over it
// exactly as libnss_vigil.so.2 runs them (only the table path, its allowed
// owner and the clock are the test's), and vigild's reader and writer.
#include "grant_table.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <thread>
#include <vector>

#include "grant_format.h"
#include "group_lookup.h"
#include "passwd_lookup.h"
#include "table_file.h"
#include "user_groups.h"

using vigil::GrantAccount;
using vigil::GrantGroup;
using vigil::GrantMember;
using vigil::GrantTable;
using vigil::nss::group_by_gid;
using vigil::nss::group_by_name;
using vigil::nss::passwd_by_name;
using vigil::nss::TableSource;

namespace {

constexpr int64_t kNow = 1'700'000'000;
constexpr int64_t kLater = kNow + 3600;

// One row: the fields joined by TABs.
std::string row(std::initializer_list<std::string> fields) {
    std::string out;
    for (const std::string& f : fields) out += (out.empty() ? "" : "\t") + f;
    return out;
}

std::string table_text(std::initializer_list<std::string> rows) {
    std::string out = "vigil-grants v1\n";
    for (const std::string& r : rows) out += r + "\n";
    return out;
}

// vigil-sudo (declared for good) with alice until kLater and bob until kNow
// (so already over), vigil-db with alice, and a temporary account.
std::string sample_table() {
    return table_text({
        row({"group", "vigil-sudo", "64001", "0"}),
        row({"group", "vigil-db", "64002", std::to_string(kLater)}),
        row({"member", "vigil-sudo", "alice", std::to_string(kLater), "g-1"}),
        row({"member", "vigil-sudo", "bob", std::to_string(kNow), "g-2"}),
        row({"member", "vigil-db", "alice", std::to_string(kLater), "g-3"}),
        row({"member", "vigil-sudo", "carol", std::to_string(kLater), "g-4"}),
        row({"passwd", "tmp-dave", "64101", "64001", "Dave (JIT)", "/home/tmp-dave", "/bin/bash",
             std::to_string(kLater), "g-5"}),
    });
}

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        char tmpl[] = "/tmp/vigil-grants-XXXXXX";
        path = mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    std::string write(const std::string& name, const std::string& text, mode_t mode = 0644) {
        std::string p = (path / name).string();
        std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
        REQUIRE(::chmod(p.c_str(), mode) == 0);
        return p;
    }
    std::string file(const std::string& name) const { return (path / name).string(); }
};

// The lookups as the module runs them, but on the test's file, owned by the
// test's uid, at the test's time.
TableSource source(const std::string& path, int64_t now = kNow) { return {path.c_str(), ::geteuid(), now}; }
// The source points into path: a temporary would leave it dangling.
TableSource source(std::string&& path, int64_t now = kNow) = delete;

struct GroupAnswer {
    nss_status status;
    int error = 0;
    std::string name;
    gid_t gid = 0;
    std::vector<std::string> members;
};

template <class Lookup>
GroupAnswer ask_group(Lookup lookup, size_t buflen = 1024) {
    std::vector<char> buf(buflen);
    group gr{};
    GroupAnswer a{};
    a.status = lookup(&gr, buf.data(), buf.size(), &a.error);
    if (a.status != NSS_STATUS_SUCCESS) return a;
    a.name = gr.gr_name;
    a.gid = gr.gr_gid;
    for (char** m = gr.gr_mem; *m != nullptr; ++m) a.members.emplace_back(*m);
    return a;
}

GroupAnswer group_named(const TableSource& src, const char* name, size_t buflen = 1024) {
    return ask_group([&](group* g, char* b, size_t n, int* e) { return group_by_name(src, name, g, b, n, e); }, buflen);
}

GroupAnswer group_numbered(const TableSource& src, gid_t gid) {
    return ask_group([&](group* g, char* b, size_t n, int* e) { return group_by_gid(src, gid, g, b, n, e); });
}

struct PasswdAnswer {
    nss_status status;
    int error = 0;
    passwd pw{};
    std::vector<char> buf;
};

PasswdAnswer account_named(const TableSource& src, const char* name, size_t buflen = 1024) {
    PasswdAnswer a{};
    a.buf.resize(buflen);
    a.status = passwd_by_name(src, name, &a.pw, a.buf.data(), a.buf.size(), &a.error);
    return a;
}

// What initgroups would add for user, primary group 100 first.
std::vector<gid_t> groups_of(const TableSource& src, const char* user, nss_status* status = nullptr, long limit = 0) {
    long start = 1, size = 1;
    gid_t* gids = static_cast<gid_t*>(std::malloc(sizeof(gid_t)));
    gids[0] = 100;
    int error = 0;
    nss_status s = vigil::nss::add_user_groups(src, user, 100, &start, &size, &gids, limit, &error);
    if (status != nullptr) *status = s;
    std::vector<gid_t> out(gids + 1, gids + start);
    std::free(gids);
    return out;
}

bool serves_nothing(const TableSource& src) {
    return group_named(src, "vigil-sudo").status == NSS_STATUS_NOTFOUND &&
           account_named(src, "tmp-dave").status == NSS_STATUS_NOTFOUND && groups_of(src, "alice").empty();
}

vigil::nss::FormatError format_error(const std::string& text) {
    vigil::nss::FormatError e{};
    REQUIRE_FALSE(vigil::nss::validate_table(text, &e));
    return e;
}

}  // namespace

// ------------------------------------------------------------ format ----

TEST_CASE("grant table: a good table parses into its rows", "[nss]") {
    auto t = vigil::parse_grant_table(sample_table());
    REQUIRE(t);
    REQUIRE(t->groups.size() == 2);
    CHECK(t->groups[0] == GrantGroup{"vigil-sudo", 64001, 0});
    REQUIRE(t->members.size() == 4);
    CHECK(t->members[0] == GrantMember{"vigil-sudo", "alice", kLater, "g-1"});
    REQUIRE(t->accounts.size() == 1);
    CHECK(t->accounts[0] ==
          GrantAccount{"tmp-dave", 64101, 64001, "Dave (JIT)", "/home/tmp-dave", "/bin/bash", kLater, "g-5"});
    CHECK(vigil::parse_grant_table("vigil-grants v1\n"));
}

TEST_CASE("grant table: any malformed line rejects the whole table", "[nss]") {
    const std::string L = std::to_string(kLater);
    const std::string good_group = row({"group", "vigil-sudo", "64001", "0"});
    const std::string good_member = row({"member", "vigil-sudo", "alice", L, "g-1"});
    auto passwd = [&](const std::string& gecos, const std::string& home, const std::string& shell) {
        return row({"passwd", "tmp-dave", "64101", "64001", gecos, home, shell, L, "g-5"});
    };
    struct Bad {
        const char* what;
        std::string line;
    };
    std::vector<Bad> bad = {
        {"unknown kind", row({"user", "alice", "1", L})},
        {"too few fields", row({"group", "vigil-x", "64009"})},
        {"too many fields", row({"group", "vigil-x", "64009", "0", "extra"})},
        {"way too many fields", row({"passwd", "a", "1", "1", "g", "/h", "/s", L, "g", "x", "y"})},
        {"empty field", row({"member", "vigil-sudo", "", L, "g-9"})},
        {"name starts with a digit", row({"member", "vigil-sudo", "9lives", L, "g-9"})},
        {"name with a space", row({"member", "vigil-sudo", "al ice", L, "g-9"})},
        {"name with a colon", row({"member", "vigil-sudo", "al:ice", L, "g-9"})},
        {"name over 32 bytes", row({"member", "vigil-sudo", std::string(33, 'a'), L, "g-9"})},
        {"non-ASCII name", row({"member", "vigil-sudo",
                                "al\xc3\xaf"
                                "ce",
                                L, "g-9"})},
        {"gid 0", row({"group", "vigil-x", "0", "0"})},
        {"gid with a sign", row({"group", "vigil-x", "+64009", "0"})},
        {"gid with a leading zero", row({"group", "vigil-x", "064009", "0"})},
        {"gid -1", row({"group", "vigil-x", "4294967295", "0"})},
        {"gid past 32 bits", row({"group", "vigil-x", "99999999999", "0"})},
        {"hex gid", row({"group", "vigil-x", "0x10", "0"})},
        {"expires not a number", row({"group", "vigil-x", "64009", "soon"})},
        {"expires negative", row({"group", "vigil-x", "64009", "-1"})},
        {"expires past int64", row({"group", "vigil-x", "64009", "9223372036854775808"})},
        {"membership that never ends", row({"member", "vigil-sudo", "bob", "0", "g-9"})},
        {"bad grant id", row({"member", "vigil-sudo", "bob", L, "g/9"})},
        {"grant id over 64 bytes", row({"member", "vigil-sudo", "bob", L, std::string(65, 'g')})},
        {"uid 0", row({"passwd", "tmp-root", "0", "64001", "", "/root", "/bin/sh", L, "g-9"})},
        {"account that never ends", row({"passwd", "tmp-eve", "64102", "64001", "", "/h", "/bin/sh", "0", "g-9"})},
        {"relative home", passwd("", "home/tmp", "/bin/sh")},
        {"shell with a colon", passwd("", "/home/tmp", "/bin/sh:x")},
        {"home with a space", passwd("", "/home/t mp", "/bin/sh")},
        {"gecos with a colon", passwd("a:b", "/home/tmp", "/bin/sh")},
        {"gecos with a newline-like byte", passwd("a\x01", "/home/tmp", "/bin/sh")},
        {"CRLF line ending", good_member + "\r"},
        {"blank line", ""},
        {"NUL byte", std::string("member\tvigil-sudo\tal\0ce\t", 24) + L + "\tg-9"},
        {"group declared twice", row({"group", "vigil-sudo", "64009", "0"})},
        {"gid declared twice", row({"group", "vigil-other", "64001", "0"})},
        {"membership listed twice", good_member},
        {"member of an undeclared group", row({"member", "wheel", "alice", L, "g-9"})},
        {"account listed twice", passwd("", "/home/tmp", "/bin/sh")},
        {"uid listed twice", row({"passwd", "tmp-eve", "64101", "64001", "", "/h", "/bin/sh", L, "g-9"})},
    };
    TempDir dir;
    for (const Bad& b : bad) {
        INFO(b.what);
        std::string text = table_text({good_group, good_member, passwd("Dave", "/home/tmp-dave", "/bin/bash"), b.line});
        auto e = format_error(text);
        CHECK(e.line == 5);
        CHECK_FALSE(vigil::parse_grant_table(text));
        // The good rows before the bad line are not served either.
        std::string path = dir.write("t", text);
        CHECK(serves_nothing(source(path)));
    }
}

TEST_CASE("grant table: the header and the framing are checked", "[nss]") {
    const std::string body = row({"group", "vigil-sudo", "64001", "0"}) + "\n";
    CHECK(format_error("").line == 1);
    CHECK(format_error(body).line == 1);
    CHECK(format_error("vigil-grants v2\n" + body).line == 1);
    CHECK(format_error("vigil-grants v1 \n" + body).line == 1);
    auto truncated = format_error("vigil-grants v1\n" + body + "group\tvigil-db\t640");
    CHECK(truncated.line == 3);
    CHECK(std::string(truncated.reason).find("truncated") != std::string::npos);
    auto r = vigil::parse_grant_table("vigil-grants v1\n" + body + "member\tvigil-sudo\t1x\t5\tg\n");
    REQUIRE_FALSE(r);
    CHECK(r.error().message == "line 3: member row: bad user name");
}

TEST_CASE("grant table: a table over 1 MiB or 4096 rows is refused, and read is capped", "[nss]") {
    std::string rows = "vigil-grants v1\n" + row({"group", "vigil-sudo", "64001", "0"}) + "\n";
    for (int i = 0; i < 4096; ++i) {
        rows += row({"member", "vigil-sudo", "u" + std::to_string(i), std::to_string(kLater), "g"}) + "\n";
    }
    CHECK(format_error(rows).line == 4098);
    std::string big = "vigil-grants v1\n" + row({"group", "vigil-sudo", "64001", "0"}) + "\n";
    big += std::string(vigil::nss::kMaxTableBytes, '#');
    CHECK(format_error(big).line == 0);
    TempDir dir;
    vigil::nss::TableText text;
    std::string path = dir.write("big", big);
    CHECK(vigil::nss::load_table(path.c_str(), ::geteuid(), text) == vigil::nss::LoadStatus::TooLarge);
    CHECK(serves_nothing(source(path)));
}

TEST_CASE("grant table: a table of 4096 rows is served", "[nss]") {
    std::string rows = "vigil-grants v1\n" + row({"group", "vigil-sudo", "64001", "0"}) + "\n";
    for (int i = 0; i < 4095; ++i) {
        rows += row({"member", "vigil-sudo", "u" + std::to_string(i), std::to_string(kLater), "g"}) + "\n";
    }
    TempDir dir;
    std::string path = dir.write("t", rows);
    auto a = group_named(source(path), "vigil-sudo", 256 * 1024);
    REQUIRE(a.status == NSS_STATUS_SUCCESS);
    CHECK(a.members.size() == 4095);
}

// ------------------------------------------------------------ lookups ----

TEST_CASE("nss: a declared group is served with its live members", "[nss]") {
    TempDir dir;
    std::string path = dir.write("t", sample_table());
    auto src = source(path);
    auto a = group_named(src, "vigil-sudo");
    REQUIRE(a.status == NSS_STATUS_SUCCESS);
    CHECK(a.name == "vigil-sudo");
    CHECK(a.gid == 64001);
    CHECK(a.members == std::vector<std::string>{"alice", "carol"});  // bob's grant ended at kNow
    auto b = group_numbered(src, 64002);
    REQUIRE(b.status == NSS_STATUS_SUCCESS);
    CHECK(b.name == "vigil-db");
    CHECK(group_named(src, "wheel").status == NSS_STATUS_NOTFOUND);
    CHECK(group_numbered(src, 64003).status == NSS_STATUS_NOTFOUND);
}

TEST_CASE("nss: expired rows are ignored without anyone pruning them", "[nss]") {
    TempDir dir;
    std::string path = dir.write("t", sample_table());
    CHECK(group_named(source(path, kLater - 1), "vigil-db").status == NSS_STATUS_SUCCESS);
    // At kLater: vigil-db's declaration, alice's memberships and the account end.
    auto src = source(path, kLater);
    CHECK(group_named(src, "vigil-db").status == NSS_STATUS_NOTFOUND);
    CHECK(group_numbered(src, 64002).status == NSS_STATUS_NOTFOUND);
    auto sudo = group_named(src, "vigil-sudo");
    REQUIRE(sudo.status == NSS_STATUS_SUCCESS);  // declared for good
    CHECK(sudo.members.empty());
    CHECK(account_named(src, "tmp-dave").status == NSS_STATUS_NOTFOUND);
    CHECK(groups_of(src, "alice").empty());
}

TEST_CASE("nss: a buffer too small gives ERANGE and TRYAGAIN, then the entry", "[nss]") {
    TempDir dir;
    std::string path = dir.write("t", sample_table());
    auto src = source(path);
    for (size_t len : {0, 1, 8, 24, 40}) {
        INFO(len);
        auto small = group_named(src, "vigil-sudo", len);
        CHECK(small.status == NSS_STATUS_TRYAGAIN);
        CHECK(small.error == ERANGE);
        auto p = account_named(src, "tmp-dave", len);
        CHECK(p.status == NSS_STATUS_TRYAGAIN);
        CHECK(p.error == ERANGE);
    }
    // Three pointers and "vigil-sudo", "*", "alice", "carol": 49 bytes, plus alignment.
    auto enough = group_named(src, "vigil-sudo", 80);
    REQUIRE(enough.status == NSS_STATUS_SUCCESS);
    CHECK(enough.members.size() == 2);
    auto nf = group_named(src, "wheel", 0);
    CHECK(nf.status == NSS_STATUS_NOTFOUND);
    CHECK(nf.error == ENOENT);
}

TEST_CASE("nss: an ephemeral account is served by name, uid and enumeration", "[nss]") {
    TempDir dir;
    std::string path = dir.write("t", sample_table());
    auto src = source(path);
    auto a = account_named(src, "tmp-dave");
    REQUIRE(a.status == NSS_STATUS_SUCCESS);
    CHECK(std::string(a.pw.pw_name) == "tmp-dave");
    CHECK(std::string(a.pw.pw_passwd) == "*");
    CHECK(a.pw.pw_uid == 64101);
    CHECK(a.pw.pw_gid == 64001);
    CHECK(std::string(a.pw.pw_gecos) == "Dave (JIT)");
    CHECK(std::string(a.pw.pw_dir) == "/home/tmp-dave");
    CHECK(std::string(a.pw.pw_shell) == "/bin/bash");
    passwd pw{};
    char buf[512];
    int e = 0;
    CHECK(vigil::nss::passwd_by_uid(src, 64101, &pw, buf, sizeof buf, &e) == NSS_STATUS_SUCCESS);
    CHECK(vigil::nss::passwd_by_uid(src, 64102, &pw, buf, sizeof buf, &e) == NSS_STATUS_NOTFOUND);
    CHECK(vigil::nss::passwd_at(src, 0, &pw, buf, sizeof buf, &e) == NSS_STATUS_SUCCESS);
    CHECK(vigil::nss::passwd_at(src, 1, &pw, buf, sizeof buf, &e) == NSS_STATUS_NOTFOUND);
}

TEST_CASE("nss: group enumeration walks the live groups in file order", "[nss]") {
    TempDir dir;
    std::string path = dir.write("t", sample_table());
    std::vector<std::string> names;
    for (size_t i = 0;; ++i) {
        auto a = ask_group(
            [&](group* g, char* b, size_t n, int* e) { return vigil::nss::group_at(source(path), i, g, b, n, e); });
        if (a.status != NSS_STATUS_SUCCESS) break;
        names.push_back(a.name);
    }
    CHECK(names == std::vector<std::string>{"vigil-sudo", "vigil-db"});
    group gr{};
    char buf[512];
    int e = 0;
    CHECK(vigil::nss::group_at(source(path, kLater), 1, &gr, buf, sizeof buf, &e) == NSS_STATUS_NOTFOUND);
}

TEST_CASE("nss: initgroups adds each granted gid once, never the primary one", "[nss]") {
    TempDir dir;
    std::string path = dir.write("t", table_text({
                                          row({"group", "vigil-sudo", "64001", "0"}),
                                          row({"group", "vigil-db", "64002", "0"}),
                                          row({"group", "vigil-prim", "100", "0"}),
                                          row({"member", "vigil-sudo", "alice", std::to_string(kLater), "g-1"}),
                                          row({"member", "vigil-db", "alice", std::to_string(kLater), "g-2"}),
                                          row({"member", "vigil-prim", "alice", std::to_string(kLater), "g-3"}),
                                          row({"member", "vigil-db", "bob", std::to_string(kNow), "g-4"}),
                                      }));
    nss_status s{};
    CHECK(groups_of(source(path), "alice", &s) == std::vector<gid_t>{64001, 64002});  // grown from 1 entry
    CHECK(s == NSS_STATUS_SUCCESS);
    CHECK(groups_of(source(path), "alice", &s, 2) == std::vector<gid_t>{64001});  // the caller's limit holds
    CHECK(groups_of(source(path), "bob", &s).empty());
    CHECK(s == NSS_STATUS_NOTFOUND);
}

// --------------------------------------------------------- the file ----

TEST_CASE("nss: a table writable by group or others serves nothing", "[nss]") {
    TempDir dir;
    for (mode_t mode : {0664, 0646, 0666, 0620}) {
        INFO(mode);
        std::string path = dir.write("t", sample_table(), mode);
        CHECK(serves_nothing(source(path)));
    }
    for (mode_t mode : {0644, 0400}) {
        std::string path = dir.write("t", sample_table(), mode);
        CHECK_FALSE(serves_nothing(source(path)));
    }
}

TEST_CASE("nss: a table owned by someone else serves nothing", "[nss]") {
    TempDir dir;
    std::string path = dir.write("t", sample_table());
    TableSource src = source(path);
    if (::geteuid() == 0) {
        REQUIRE(::chown(path.c_str(), 4242, 4242) == 0);
    } else {
        src.owner = ::geteuid() + 1;  // the file stays ours, but we are no longer the allowed owner
    }
    CHECK(serves_nothing(src));
}

TEST_CASE("nss: a symlink, a directory, a FIFO or no file serves nothing", "[nss]") {
    TempDir dir;
    std::string target = dir.write("real", sample_table());
    REQUIRE(::symlink(target.c_str(), dir.file("link").c_str()) == 0);
    std::string link = dir.file("link");
    CHECK(serves_nothing(source(link)));
    REQUIRE(::mkdir(dir.file("dir").c_str(), 0755) == 0);
    std::string subdir = dir.file("dir");
    CHECK(serves_nothing(source(subdir)));
    REQUIRE(::mkfifo(dir.file("fifo").c_str(), 0644) == 0);
    std::string fifo = dir.file("fifo"), missing = dir.file("missing");
    CHECK(serves_nothing(source(fifo)));  // and does not block
    CHECK(serves_nothing(source(missing)));
    CHECK_FALSE(serves_nothing(source(target)));
}

// ----------------------------------------------------- vigild's side ----

GrantTable sample_grants() {
    GrantTable t;
    t.groups = {{"vigil-sudo", 64001, 0}};
    t.members = {{"vigil-sudo", "alice", kLater, "g-1"}, {"vigil-sudo", "bob", kNow, "g-2"}};
    t.accounts = {{"tmp-dave", 64101, 64001, "Dave", "/home/tmp-dave", "/bin/sh", kLater, "g-3"}};
    return t;
}

TEST_CASE("grant table: what vigild writes it reads back, and the module serves", "[nss]") {
    TempDir dir;
    std::string path = dir.file("grants");
    REQUIRE(vigil::write_grant_table(path, sample_grants()));
    auto back = vigil::read_grant_table(path);
    REQUIRE(back);
    CHECK(*back == sample_grants());
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0644);
    CHECK(group_named(source(path), "vigil-sudo").members == std::vector<std::string>{"alice"});
    // No temp file is left behind.
    CHECK(std::distance(std::filesystem::directory_iterator(dir.path), {}) == 1);
}

TEST_CASE("grant table: a missing file is an empty table, a refused one an error", "[nss]") {
    TempDir dir;
    auto none = vigil::read_grant_table(dir.file("grants"));
    REQUIRE(none);
    CHECK(*none == GrantTable{});
    auto writable = vigil::read_grant_table(dir.write("w", sample_table(), 0664));
    REQUIRE_FALSE(writable);
    CHECK(writable.error().message.find("chmod 644") != std::string::npos);
    auto bad = vigil::read_grant_table(dir.write("b", "vigil-grants v1\nfoo\n"));
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message == dir.file("b") + ": line 2: unknown row kind (want group, member or passwd)");
}

TEST_CASE("grant table: an invalid table is not written and the old one stays", "[nss]") {
    TempDir dir;
    std::string path = dir.file("grants");
    REQUIRE(vigil::write_grant_table(path, sample_grants()));
    GrantTable bad = sample_grants();
    bad.members.push_back({"wheel", "alice", kLater, "g-9"});  // wheel is not declared
    auto s = vigil::write_grant_table(path, bad);
    REQUIRE_FALSE(s);
    CHECK(s.error().message.find("not declared") != std::string::npos);
    bad = sample_grants();
    bad.accounts[0].gecos = "a:b";
    CHECK_FALSE(vigil::write_grant_table(path, bad));
    CHECK(*vigil::read_grant_table(path) == sample_grants());
    CHECK(std::distance(std::filesystem::directory_iterator(dir.path), {}) == 1);
    CHECK_FALSE(vigil::write_grant_table(dir.file("no/such/dir/grants"), sample_grants()));
}

TEST_CASE("grant table: readers never see a partial table while vigild rewrites it", "[nss]") {
    TempDir dir;
    std::string path = dir.file("grants");
    GrantTable small = sample_grants();
    GrantTable large = sample_grants();
    for (int i = 0; i < 500; ++i) large.members.push_back({"vigil-sudo", "u" + std::to_string(i), kLater, "g"});
    REQUIRE(vigil::write_grant_table(path, small));
    std::atomic<bool> stop{false};
    std::atomic<bool> failed{false};
    std::atomic<int> writes{0};
    std::string failure;  // read after join()
    std::thread writer([&] {
        for (int i = 0; !stop; ++i) {
            if (auto s = vigil::write_grant_table(path, i % 2 == 0 ? large : small); !s) {
                failure = s.error().message;
                failed = true;
                break;
            }
            ++writes;
        }
    });
    // Read until the writer has replaced the table many times (each write
    // fsyncs, so on a busy machine the reader could otherwise finish first).
    int torn = 0;
    int reads = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while ((reads < 300 || writes < 20) && !failed && std::chrono::steady_clock::now() < deadline) {
        auto a = group_named(source(path), "vigil-sudo", 64 * 1024);
        if (a.status != NSS_STATUS_SUCCESS || (a.members.size() != 1 && a.members.size() != 501)) ++torn;
        ++reads;
    }
    stop = true;
    writer.join();
    CHECK(failure.empty());
    CHECK(torn == 0);
    CHECK(writes >= 20);
}

TEST_CASE("grant table: put replaces a row for the same key", "[nss]") {
    GrantTable t = sample_grants();
    vigil::put_member(t, {"vigil-sudo", "alice", kLater + 60, "g-7"});
    vigil::put_member(t, {"vigil-sudo", "carol", kLater, "g-8"});
    REQUIRE(t.members.size() == 3);
    CHECK(t.members[0] == GrantMember{"vigil-sudo", "alice", kLater + 60, "g-7"});
    vigil::put_account(t, {"tmp-dave", 64101, 64001, "", "/home/tmp-dave", "/bin/sh", kLater + 60, "g-9"});
    REQUIRE(t.accounts.size() == 1);
    CHECK(t.accounts[0].grant_id == "g-9");
}

TEST_CASE("grant table: take_expired moves out what has ended, with members of ended groups", "[nss]") {
    GrantTable t = sample_grants();
    t.groups.push_back({"vigil-db", 64002, kNow});
    t.members.push_back({"vigil-db", "alice", kLater, "g-4"});
    GrantTable ended = vigil::take_expired(t, kNow);
    CHECK(t.groups == std::vector<GrantGroup>{{"vigil-sudo", 64001, 0}});
    CHECK(t.members == std::vector<GrantMember>{{"vigil-sudo", "alice", kLater, "g-1"}});
    CHECK(t.accounts.size() == 1);
    CHECK(ended.groups == std::vector<GrantGroup>{{"vigil-db", 64002, kNow}});
    CHECK(ended.members.size() == 2);  // bob's, over at kNow, and alice's in vigil-db
    CHECK(vigil::take_expired(t, kLater).accounts.size() == 1);
    CHECK(t.accounts.empty());
}

// ------------------------------------------------------------- cache ----

TEST_CASE("nss: mentions_field matches whole fields only", "[nss]") {
    std::string t = sample_table();
    CHECK(vigil::nss::mentions_field(t, "alice"));
    CHECK(vigil::nss::mentions_field(t, "64001"));
    CHECK(vigil::nss::mentions_field(t, "g-5"));  // last field on its line
    CHECK_FALSE(vigil::nss::mentions_field(t, "ali"));
    CHECK_FALSE(vigil::nss::mentions_field(t, "vigil"));
    CHECK_FALSE(vigil::nss::mentions_field(t, "member"));  // a row's kind is not a field
    CHECK_FALSE(vigil::nss::mentions_field(t, ""));
    char buf[11];
    CHECK(vigil::nss::decimal(0, buf) == "0");
    CHECK(vigil::nss::decimal(4294967295u, buf) == "4294967295");
}

TEST_CASE("nss: a cached table follows the file: replaced, rewritten, loosened", "[nss]") {
    TempDir dir;
    std::string path = dir.write("t", sample_table());
    auto src = source(path);
    CHECK(group_named(src, "vigil-sudo").members == std::vector<std::string>{"alice", "carol"});
    CHECK(group_named(src, "nobody-here").status == NSS_STATUS_NOTFOUND);  // answered from the cache
    // Replaced by rename, as vigild does: the new table is served at once.
    std::string next =
        dir.write("t.new", table_text({row({"group", "vigil-sudo", "64001", "0"}),
                                       row({"member", "vigil-sudo", "erin", std::to_string(kLater), "g-9"})}));
    REQUIRE(::rename(next.c_str(), path.c_str()) == 0);
    CHECK(group_named(src, "vigil-sudo").members == std::vector<std::string>{"erin"});
    CHECK(groups_of(src, "alice").empty());
    // Loosened in place: the cached copy is not served any more.
    REQUIRE(::chmod(path.c_str(), 0666) == 0);
    CHECK(serves_nothing(src));
    CHECK(group_named(src, "vigil-sudo").status == NSS_STATUS_NOTFOUND);
    // Removed: nothing.
    REQUIRE(::chmod(path.c_str(), 0644) == 0);
    CHECK(group_named(src, "vigil-sudo").status == NSS_STATUS_SUCCESS);
    REQUIRE(::unlink(path.c_str()) == 0);
    CHECK(group_named(src, "vigil-sudo").status == NSS_STATUS_NOTFOUND);
}
