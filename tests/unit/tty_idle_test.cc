#include "tty_idle.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>

using std::chrono::seconds;
using vigil::idle_since;
using vigil::input_bound;

TEST_CASE("input may have come until the end of the kernel's 8-second stamp window") {
    // Stamped at 1000 (window 1000..1007): input may have come until 1008.
    CHECK(input_bound(1000, 1000) == 1000);
    CHECK(input_bound(1000, 1008) == 1008);
    CHECK(input_bound(1000, 1018) == 1008);
    CHECK(idle_since(*input_bound(1000, 1018), 1018) == seconds(10));
    // Stamped mid-window (1005, window 1000..1007): the same.
    CHECK(input_bound(1005, 1018) == 1008);
}

TEST_CASE("an atime in the future is not input") {
    // The kernel only ever stamps the current time; `touch -a -d tomorrow`
    // on one's own terminal must not keep a session alive.
    CHECK_FALSE(input_bound(1001, 1000));
    CHECK_FALSE(input_bound(1000 + 3600, 1000));
}

TEST_CASE("idle time is never negative") {
    // A clock set back before the last input: not idle.
    CHECK(idle_since(1000, 900) == seconds(0));
    CHECK(idle_since(1000, 1000) == seconds(0));
    CHECK(idle_since(1000, 1030) == seconds(30));
}

TEST_CASE("tty_atime refuses what is not a character device") {
    CHECK_FALSE(vigil::tty_atime("/nonexistent/pts/9"));
    CHECK_FALSE(vigil::tty_atime("/etc/hostname"));
}

TEST_CASE("tty_atime reads a terminal's stamp, also one set into the future") {
    int fd = ::posix_openpt(O_RDWR | O_NOCTTY);
    REQUIRE(fd >= 0);
    REQUIRE(::grantpt(fd) == 0);
    REQUIRE(::unlockpt(fd) == 0);
    std::string path = ::ptsname(fd);
    auto now = std::chrono::duration_cast<seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    auto atime = vigil::tty_atime(path);
    REQUIRE(atime);
    CHECK(*atime <= now);
    CHECK(input_bound(*atime, now + 3600));
    timespec times[2] = {{now + 3600, 0}, {0, UTIME_OMIT}};
    REQUIRE(::utimensat(AT_FDCWD, path.c_str(), times, 0) == 0);
    atime = vigil::tty_atime(path);
    ::close(fd);
    REQUIRE(atime);
    CHECK(*atime == now + 3600);
    CHECK_FALSE(input_bound(*atime, now));
}
