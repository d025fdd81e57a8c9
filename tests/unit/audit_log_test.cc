#include "audit_log.h"

#include <sys/resource.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "sha256.h"

namespace {

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/vigil-audit-test-XXXXXX";
        path = mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

std::vector<std::string> lines_of(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> out;
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
}

void write_lines(const std::string& path, const std::vector<std::string>& lines) {
    std::ofstream out(path, std::ios::trunc);
    for (auto& l : lines) out << l << "\n";
}

void append_n(const std::string& path, int n) {
    auto log = vigil::AuditLog::open(path);
    REQUIRE(log);
    for (int i = 0; i < n; ++i) REQUIRE((*log)->append({{"event", "decision"}, {"n", i}}));
}

}  // namespace

TEST_CASE("audit log chains each record to the hash of the line before") {
    TempDir dir;
    std::string path = dir.path + "/log/audit.jsonl";
    append_n(path, 3);
    auto lines = lines_of(path);
    REQUIRE(lines.size() == 3);
    CHECK(nlohmann::json::parse(lines[0])["prev"] == vigil::kGenesisHash);
    CHECK(nlohmann::json::parse(lines[1])["prev"] == vigil::sha256_hex(lines[0]));
    CHECK(nlohmann::json::parse(lines[2])["prev"] == vigil::sha256_hex(lines[1]));
    auto v = vigil::verify_audit_file(path);
    CHECK(v.ok);
    CHECK(v.records == 3);
}

TEST_CASE("audit log continues the chain after a restart") {
    TempDir dir;
    std::string path = dir.path + "/audit.jsonl";
    append_n(path, 2);
    append_n(path, 2);
    CHECK(vigil::verify_audit_file(path).records == 4);
}

TEST_CASE("audit verify finds a changed, removed or inserted record") {
    TempDir dir;
    std::string path = dir.path + "/audit.jsonl";
    append_n(path, 4);
    auto lines = lines_of(path);

    auto changed = lines;
    changed[1].replace(changed[1].find("\"n\":1"), 5, "\"n\":7");
    write_lines(path, changed);
    CHECK(vigil::verify_audit_file(path).bad_line == 3);

    auto removed = lines;
    removed.erase(removed.begin() + 1);
    write_lines(path, removed);
    CHECK(vigil::verify_audit_file(path).bad_line == 2);

    auto garbage = lines;
    garbage.insert(garbage.begin() + 2, "{not json");
    write_lines(path, garbage);
    auto v = vigil::verify_audit_file(path);
    CHECK_FALSE(v.ok);
    CHECK(v.bad_line == 3);
}

TEST_CASE("audit log refuses a symlink planted at its path") {
    TempDir dir;
    std::string target = dir.path + "/elsewhere";
    std::string path = dir.path + "/audit.jsonl";
    REQUIRE(symlink(target.c_str(), path.c_str()) == 0);
    auto log = vigil::AuditLog::open(path);
    CHECK_FALSE(log);
}

TEST_CASE("audit log ends a torn last record before appending") {
    TempDir dir;
    std::string path = dir.path + "/audit.jsonl";
    append_n(path, 1);
    { std::ofstream(path, std::ios::app) << "{\"torn\":"; }
    append_n(path, 1);
    auto lines = lines_of(path);
    REQUIRE(lines.size() == 3);
    CHECK(nlohmann::json::parse(lines[2])["prev"] == vigil::sha256_hex("{\"torn\":"));
    CHECK(vigil::verify_audit_file(path).bad_line == 2);
}

TEST_CASE("audit log: a record the file cannot take whole leaves no torn line, and the gap is recorded") {
    TempDir dir;
    std::string path = dir.path + "/audit.jsonl";
    auto log = vigil::AuditLog::open(path);
    REQUIRE(log);
    REQUIRE((*log)->append({{"event", "decision"}, {"n", 0}}));
    auto whole = std::filesystem::file_size(path);
    // The file may grow 20 bytes more: the next record's write is cut short
    // (a short write, then EFBIG), as on a disk that fills mid-line.
    struct rlimit old {};
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
    auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
    struct rlimit tight = old;
    tight.rlim_cur = whole + 20;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &tight) == 0);
    vigil::Status cut = (*log)->append({{"event", "decision"}, {"n", 1}, {"pad", std::string(200, 'x')}});
    ::setrlimit(RLIMIT_FSIZE, &old);
    std::signal(SIGXFSZ, old_handler);
    CHECK_FALSE(cut);
    CHECK(std::filesystem::file_size(path) == whole);  // the 20 bytes that made it were cut off
    CHECK((*log)->lost() == 1);
    REQUIRE((*log)->append({{"event", "decision"}, {"n", 2}}));
    auto lines = lines_of(path);
    REQUIRE(lines.size() == 3);
    CHECK(nlohmann::json::parse(lines[1])["event"] == "audit_gap");
    CHECK(nlohmann::json::parse(lines[1])["lost"] == 1);
    CHECK(vigil::verify_audit_file(path).ok);
}
