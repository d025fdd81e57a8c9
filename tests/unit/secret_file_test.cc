#include "secret_file.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <ostream>

using vigil::read_secret_file;
using vigil::Secret;

// Printing a Secret must not compile, so no log line can carry one.
template <class T>
concept Streamable = requires(std::ostream& os, const T& t) {
    os << t;
};
static_assert(!Streamable<Secret>);
static_assert(!fmt::is_formattable<Secret>::value);

namespace {

// A fresh directory with a helper to drop files into it.
struct TempDir {
    std::filesystem::path path;
    TempDir() {
        char tmpl[] = "/tmp/vigil-secret-XXXXXX";
        path = mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    std::string write(const std::string& name, const std::string& text, mode_t mode) {
        std::string p = (path / name).string();
        std::ofstream(p, std::ios::binary) << text;
        REQUIRE(::chmod(p.c_str(), mode) == 0);
        return p;
    }
};

std::string refusal(const std::string& path) {
    auto r = read_secret_file(path);
    REQUIRE_FALSE(r);
    return r.error().message;
}

}  // namespace

TEST_CASE("secret file with mode 0600 is read and one trailing newline stripped") {
    TempDir dir;
    CHECK(read_secret_file(dir.write("t", "tok-abc\n", 0600))->reveal() == "tok-abc");
    CHECK(read_secret_file(dir.write("crlf", "tok-abc\r\n", 0600))->reveal() == "tok-abc");
    CHECK(read_secret_file(dir.write("bare", "tok-abc", 0400))->reveal() == "tok-abc");
    CHECK(vigil::check_secret_file(dir.write("key", "-----BEGIN", 0600)));
}

TEST_CASE("secret file readable or writable by group or others is refused") {
    TempDir dir;
    for (mode_t mode : {0640, 0644, 0604, 0620, 0602, 0610}) {
        INFO(fmt::format("mode {:04o}", mode));
        std::string p = dir.write("t", "tok\n", mode);
        CHECK(refusal(p) == fmt::format("{}: mode {:04o}: must not be accessible by group or others; "
                                        "run chmod 600 {}",
                                        p, mode, p));
        CHECK_FALSE(vigil::check_secret_file(p));
    }
}

TEST_CASE("secret file that is a symlink, directory or FIFO is refused") {
    TempDir dir;
    std::string target = dir.write("real", "tok\n", 0600);
    std::string link = (dir.path / "link").string();
    REQUIRE(::symlink(target.c_str(), link.c_str()) == 0);
    CHECK_THAT(refusal(link), Catch::Contains("is a symbolic link"));

    CHECK_THAT(refusal(dir.path.string()), Catch::EndsWith("not a regular file"));

    std::string fifo = (dir.path / "fifo").string();
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    CHECK_THAT(refusal(fifo), Catch::EndsWith("not a regular file"));  // and did not block
}

TEST_CASE("secret file owned by another user is refused") {
    if (geteuid() != 0) return;  // only root can give a file away
    TempDir dir;
    std::string p = dir.write("t", "tok\n", 0600);
    REQUIRE(::chown(p.c_str(), 65534, 65534) == 0);
    CHECK_THAT(refusal(p), Catch::Contains("owned by uid 65534; must be owned by root"));
}

TEST_CASE("secret file that is missing, empty, multi-line or too large is refused") {
    TempDir dir;
    CHECK_THAT(refusal((dir.path / "none").string()), Catch::Contains("cannot open"));
    CHECK_THAT(refusal(dir.write("empty", "", 0600)), Catch::EndsWith("is empty"));
    CHECK_THAT(refusal(dir.write("nl", "\n", 0600)), Catch::EndsWith("is empty"));
    CHECK_THAT(refusal(dir.write("two", "tok\nX-Evil: 1\n", 0600)),
               Catch::Contains("control character or extra line break at byte 3"));
    CHECK_THAT(refusal(dir.write("big", std::string(vigil::kMaxSecretBytes + 1, 'a'), 0600)),
               Catch::Contains("larger than 16384 bytes"));
    CHECK(read_secret_file(dir.write("max", std::string(vigil::kMaxSecretBytes, 'a'), 0600)));
}

TEST_CASE("secret moves its bytes and leaves the source empty") {
    Secret a("s3cret");
    CHECK(a.size() == 6);
    CHECK(std::string(a.c_str()) == "s3cret");  // NUL-terminated for C APIs
    Secret b(std::move(a));
    CHECK(b.reveal() == "s3cret");
    CHECK(a.empty());  // NOLINT(bugprone-use-after-move): moved-from state is specified
    CHECK(std::string(a.c_str()).empty());
    Secret c;
    c = std::move(b);
    CHECK(c.reveal() == "s3cret");
    CHECK(b.empty());  // NOLINT(bugprone-use-after-move)
}
