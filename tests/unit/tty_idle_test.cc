#include "tty_idle.h"

#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>

using std::chrono::seconds;
using vigil::idle_since_input;

TEST_CASE("idle time counts from the end of the kernel's 8-second stamp window") {
    // Stamped at 1000 (window 1000..1007): input may have come until 1007.
    CHECK(idle_since_input(1000, 1000) == seconds(0));
    CHECK(idle_since_input(1000, 1008) == seconds(0));
    CHECK(idle_since_input(1000, 1018) == seconds(10));
    // Stamped mid-window (1005, window 1000..1007): the same.
    CHECK(idle_since_input(1005, 1018) == seconds(10));
    // A clock set back before the stamp: not idle, never negative.
    CHECK(idle_since_input(1000, 900) == seconds(0));
}

TEST_CASE("tty_idle refuses what is not a character device") {
    CHECK_FALSE(vigil::tty_idle("/nonexistent/pts/9", std::chrono::system_clock::now()));
    CHECK_FALSE(vigil::tty_idle("/etc/hostname", std::chrono::system_clock::now()));
}

TEST_CASE("tty_idle reads a terminal's stamp") {
    int fd = ::posix_openpt(O_RDWR | O_NOCTTY);
    REQUIRE(fd >= 0);
    REQUIRE(::grantpt(fd) == 0);
    REQUIRE(::unlockpt(fd) == 0);
    std::string path = ::ptsname(fd);
    auto later = std::chrono::system_clock::now() + std::chrono::hours(1);
    auto idle = vigil::tty_idle(path, later);
    ::close(fd);
    REQUIRE(idle);
    CHECK(*idle > std::chrono::minutes(58));
    CHECK(*idle <= std::chrono::hours(1));
}
