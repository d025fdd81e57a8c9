#include "purpose_check.h"

#include <catch2/catch.hpp>
#include <regex>
#include <string>

using vigil::check_purpose;
using vigil::kMaxPurpose;
using vigil::PurposeVerdict;

namespace {
const std::regex kDefault(".{8,}", std::regex::ECMAScript);
const std::regex kTicket("^[A-Z]+-[0-9]+ .+$", std::regex::ECMAScript);
}  // namespace

TEST_CASE("a purpose that is printable, short enough and matches the pattern is accepted") {
    CHECK(check_purpose("INC-1 fix the disk", kDefault) == PurposeVerdict::Ok);
    CHECK(check_purpose("OPS-12 restart the web tier", kTicket) == PurposeVerdict::Ok);
    CHECK(check_purpose(std::string(kMaxPurpose, 'x'), kDefault) == PurposeVerdict::Ok);
}

TEST_CASE("a purpose longer than the limit is refused before the pattern runs") {
    CHECK(check_purpose(std::string(kMaxPurpose + 1, 'x'), kDefault) == PurposeVerdict::TooLong);
    // Long enough to exhaust std::regex's recursion if it ever ran on it.
    CHECK(check_purpose(std::string(1 << 20, 'x'), kDefault) == PurposeVerdict::TooLong);
}

TEST_CASE("a purpose with a control character, a terminal escape or a newline is refused") {
    CHECK(check_purpose("INC-1 x\x1b[2J", kDefault) == PurposeVerdict::NotPrintable);
    CHECK(check_purpose("INC-1 fine\nFAKE LOG LINE", kDefault) == PurposeVerdict::NotPrintable);
    CHECK(check_purpose("INC-1 c1 \xC2\x9B"
                        "2J",
                        kDefault) == PurposeVerdict::NotPrintable);
}

TEST_CASE("a purpose that does not match the pattern is refused") {
    CHECK(check_purpose("short", kDefault) == PurposeVerdict::NoMatch);
    CHECK(check_purpose("", kDefault) == PurposeVerdict::NoMatch);
    CHECK(check_purpose("no ticket here", kTicket) == PurposeVerdict::NoMatch);
    CHECK(std::string(to_string(PurposeVerdict::NoMatch)) == "does not match the pattern");
}
