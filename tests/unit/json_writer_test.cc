// JsonWriter writes what nlohmann's dump(-1, replace) writes for the same
// values (the trail's lines must not change with the writer), with no DOM.
#include "json_writer.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

namespace {

std::string ours(std::string_view s) {
    std::string out;
    vigil::append_json_string(out, s);
    return out;
}

std::string theirs(const std::string& s) {
    return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

TEST_CASE("json writer: objects, arrays, numbers and booleans, compact, in the order written") {
    std::string text;
    vigil::JsonWriter w(text);
    w.begin_object().field("user", "alice").field("pid", 4242).field("uid", 0u).field("ok", true);
    w.key("groups").begin_array().value("ops").value("wheel").end_array();
    w.key("empty").begin_array().end_array();
    w.key("peer").begin_object().field("pid", -1).end_object();
    w.key("doc").raw(R"({"a":[1,2]})");
    w.field("n", int64_t{-9223372036854775807 - 1});
    w.end_object();
    CHECK(text ==
          R"({"user":"alice","pid":4242,"uid":0,"ok":true,"groups":["ops","wheel"],"empty":[],"peer":{"pid":-1},)"
          R"("doc":{"a":[1,2]},"n":-9223372036854775808})");
    nlohmann::ordered_json j = {{"user", "alice"},
                                {"pid", 4242},
                                {"uid", 0u},
                                {"ok", true},
                                {"groups", {"ops", "wheel"}},
                                {"empty", nlohmann::ordered_json::array()},
                                {"peer", {{"pid", -1}}},
                                {"doc", {{"a", {1, 2}}}},
                                {"n", int64_t{-9223372036854775807 - 1}}};
    CHECK(text == j.dump());
}

TEST_CASE("json writer: a C string is a string, not a boolean") {
    std::string text;
    vigil::JsonWriter(text).begin_array().value("report").end_array();
    CHECK(text == R"(["report"])");
}

TEST_CASE("json writer: escapes as nlohmann does") {
    for (const std::string& s : {std::string("plain"), std::string("q\"b\\s/"), std::string("\b\f\n\r\t"),
                                 std::string("\x01\x1f\x7f", 3), std::string("\0x", 2), std::string()}) {
        CAPTURE(s);
        CHECK(ours(s) == theirs(s));
    }
    CHECK(ours(std::string("\x01", 1)) == R"("\u0001")");
}

TEST_CASE("json writer: UTF-8 kept, every other byte sequence replaced by U+FFFD as nlohmann does") {
    const std::string cases[] = {
        "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91",  // valid: 2, 3 and 4 bytes
        "\xc3\x28",                                   // a lead without its continuation
        "\xe0\x80\xaf",                               // overlong
        "\xed\xa0\x80",                               // a surrogate
        "\xf4\x90\x80\x80",                           // past U+10FFFF
        "\xff\xfe\xc0\xc1\xf5",                       // never leads
        "\x80\xbf",                                   // lone continuations
        "ab\xe2\x82",                                 // cut short at the end
        "\xf0\x9f\x94",                               // cut short, 3 of 4
        "\xe2\x82\x41",                               // cut short, then ASCII
        "\xc3\xa9\xc3",
    };
    for (const std::string& s : cases) {
        CAPTURE(s);
        CHECK(ours(s) == theirs(s));
        CHECK_FALSE(nlohmann::json::parse(ours(s), nullptr, false).is_discarded());
    }
    CHECK(ours("\xe2\x82\x41") ==
          "\"\xef\xbf\xbd"
          "A\"");
}
