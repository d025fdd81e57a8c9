#include "regex_setting.h"

#include <catch2/catch.hpp>
#include <string>

using vigil::kMaxRegexSetting;
using vigil::regex_setting_problem;

TEST_CASE("regex settings an admin writes are accepted") {
    CHECK_FALSE(regex_setting_problem(".{8,}"));
    CHECK_FALSE(regex_setting_problem("^(INC|CHG)-[0-9]{1,8} .{8,}$"));
    CHECK_FALSE(regex_setting_problem("^ci-[a-z0-9-]+@build-12345$"));
    CHECK_FALSE(regex_setting_problem("a{1000}"));
    CHECK_FALSE(regex_setting_problem("(x)\\1"));
    CHECK_FALSE(regex_setting_problem(std::string(kMaxRegexSetting, 'a')));
}

TEST_CASE("a repeat count that would overflow the regex compiler is refused before it runs") {
    // The fuzzer's input: libstdc++ multiplied this into a signed overflow.
    auto why = regex_setting_problem("(ci|deploy)a{3333333333333333333}");
    REQUIRE(why);
    CHECK_THAT(*why, Catch::Contains("repeat count above 1000"));
    CHECK(regex_setting_problem("a{1001}"));
    CHECK(regex_setting_problem("a{2,99999999999}"));
}

TEST_CASE("a back-reference past any group count is refused") {
    auto why = regex_setting_problem("(a)\\99999999999999999999");
    REQUIRE(why);
    CHECK_THAT(*why, Catch::Contains("back-reference"));
}

TEST_CASE("braces that are literals are no repeat count") {
    CHECK_FALSE(regex_setting_problem("\\{99999999999\\}"));
    CHECK_FALSE(regex_setting_problem("[{99999999999}]+"));
    CHECK_FALSE(regex_setting_problem("[\\]{99999999999}]"));
}

TEST_CASE("a pattern longer than the bound is refused with its length") {
    auto why = regex_setting_problem(std::string(kMaxRegexSetting + 1, 'a'));
    REQUIRE(why);
    CHECK_THAT(*why, Catch::Contains("longer than 512 bytes"));
}

TEST_CASE("what is no regular expression says so") {
    auto why = regex_setting_problem("([");
    REQUIRE(why);
    CHECK_THAT(*why, Catch::Contains("not a regular expression"));
}
