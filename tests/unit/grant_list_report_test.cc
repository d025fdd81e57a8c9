#include "grant_list_report.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>

using vigil::render_grant_list;

namespace {

nlohmann::json one_grant(const std::string& reason) {
    return {{"grants",
             {{{"id", "g-0123456789abcdef01234567"},
               {"group", "vigil-sudo"},
               {"account", ""},
               {"user", "alice"},
               {"expires_at", "2026-11-26T09:12:03Z"},
               {"reason", reason}}}}};
}

size_t lines(const std::string& s) { return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')); }

}  // namespace

TEST_CASE("grant list prints a header and one row per grant") {
    std::string out = render_grant_list(one_grant("INC-1 fix the disk"));
    CHECK(lines(out) == 2);
    CHECK_THAT(out, Catch::StartsWith("GRANT "));
    CHECK_THAT(out, Catch::Contains("vigil-sudo"));
    CHECK_THAT(out, Catch::EndsWith(" -                                INC-1 fix the disk\n"));
    CHECK(render_grant_list({{"grants", nlohmann::json::array()}}) == "no live grants\n");
}

TEST_CASE("grant list escapes a hostile reason already in the table: no escape sequence, no extra line") {
    std::string hostile =
        "INC-1\x1b]0;owned\x07\x1b[2J\x1b[1;1H\nroot  vigil-sudo  mallory  (forged row)\r\xC2\x9B"
        "31m";
    std::string out = render_grant_list(one_grant(hostile));
    CHECK(out.find('\x1b') == std::string::npos);
    CHECK(out.find('\x07') == std::string::npos);
    CHECK(out.find('\r') == std::string::npos);
    CHECK(out.find("\xC2\x9B") == std::string::npos);
    CHECK(lines(out) == 2);  // the header and the one row: the newline is shown, not obeyed
    CHECK_THAT(out, Catch::Contains("INC-1\\e]0;owned\\x07\\e[2J\\e[1;1H\\nroot  vigil-sudo  mallory  (forged row)\\r"
                                    "\\u{009b}31m"));
}

TEST_CASE("grant list escapes every field, not only the reason") {
    nlohmann::json a = one_grant("ok reason");
    a["grants"][0]["user"] = "eve\x1b[8m";
    a["grants"][0]["session"] = "s\n1";
    std::string out = render_grant_list(a);
    CHECK(out.find('\x1b') == std::string::npos);
    CHECK(lines(out) == 2);
    CHECK_THAT(out, Catch::Contains("eve\\e[8m"));
    CHECK_THAT(out, Catch::Contains("s\\n1"));
}
