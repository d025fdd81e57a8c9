#include "obligations.h"

#include <catch2/catch.hpp>

using nlohmann::json;
using vigil::parse_obligations;

TEST_CASE("obligations reads limits, reasons, step-up and policy version") {
    auto ob = parse_obligations(json::parse(R"({"session_max_seconds": 3600, "reevaluate_seconds": 60,
        "reason_user": "ok", "reason_admin": {"403": "rule C076"}, "policy_version": "2025.06.1",
        "step_up": {"method": "totp", "prompt": "TOTP code:"}})"));
    REQUIRE(ob);
    CHECK(ob->session_max == std::chrono::seconds(3600));
    CHECK(ob->reevaluate == std::chrono::seconds(60));
    CHECK(ob->reason_admin == "rule C076");
    CHECK(ob->policy_version == "2025.06.1");
    REQUIRE(ob->step_up);
    CHECK(ob->step_up->method == "totp");
    CHECK(ob->step_up->prompt == "TOTP code:");
}

TEST_CASE("obligations refuses one this agent cannot carry out, naming it") {
    auto ob = parse_obligations(json::parse(R"({"session_max_seconds": 60, "launch_missiles": true})"));
    REQUIRE_FALSE(ob);
    CHECK_THAT(ob.error().message, Catch::Contains("launch_missiles"));
}

TEST_CASE("obligations skips informational keys and the admin's ignore list") {
    auto ob = parse_obligations(json::parse(R"({"reason": "x", "metadata": {"t": 1}, "vendor.trace": "abc"})"),
                                {"vendor.trace"});
    CHECK(ob);
    CHECK_FALSE(parse_obligations(json::parse(R"({"vendor.trace": "abc"})")));
}

TEST_CASE("obligations rejects bad values instead of guessing") {
    for (const char* bad : {R"({"session_max_seconds": -5})", R"({"session_max_seconds": "8h"})",
                            R"({"session_max_seconds": 99999999999})", R"({"step_up": {"prompt": "x"}})",
                            R"({"reason_user": 42})", R"([1, 2])"}) {
        INFO(bad);
        CHECK_FALSE(parse_obligations(json::parse(bad)));
    }
    CHECK(parse_obligations(json()));
}

TEST_CASE("obligations reads session_idle_seconds") {
    auto ob = parse_obligations(json::parse(R"({"session_idle_seconds": 900})"));
    REQUIRE(ob);
    CHECK(ob->session_idle == std::chrono::seconds(900));
    CHECK_FALSE(parse_obligations(json::parse(R"({"session_idle_seconds": -1})")));
}
