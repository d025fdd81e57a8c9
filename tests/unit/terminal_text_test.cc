#include "terminal_text.h"

#include <catch2/catch.hpp>
#include <string>

using vigil::escape_for_terminal;
using vigil::printable_text;

TEST_CASE("terminal text: plain ASCII and UTF-8 letters are printable") {
    CHECK(printable_text(""));
    CHECK(printable_text("INC-42 disk full on /var (50%)"));
    CHECK(printable_text("Störung: Plattenplatz — 東京"));
    CHECK(printable_text("emoji \xF0\x9F\x94\xA5 ok"));
}

TEST_CASE("terminal text refuses C0 and C1 controls, DEL, separators and bidi controls") {
    for (std::string bad :
         {std::string("a\x1b[2Jb"), std::string("line\nbreak"), std::string("tab\there"), std::string("cr\rhere"),
          std::string("bell\a"), std::string("del\x7f"), std::string("nul\0x", 5),
          std::string("c1 csi \xC2\x9B"
                      "2J"),
          std::string("nel \xC2\x85"), std::string("ls \xE2\x80\xA8"),
          std::string("rlo \xE2\x80\xAE"
                      "txt.exe"),
          std::string("rli \xE2\x81\xA7"), std::string("rlm \xE2\x80\x8F")}) {
        INFO(escape_for_terminal(bad));
        CHECK_FALSE(printable_text(bad));
    }
}

TEST_CASE("terminal text refuses bytes that are not UTF-8") {
    for (std::string bad : {std::string("\x9b"
                                        "2J"),
                            std::string("\xC0\xAF"), std::string("\xE0\x80\xAF"), std::string("\xED\xA0\x80"),
                            std::string("\xF4\x90\x80\x80"), std::string("cut \xE2\x80"), std::string("\xFF")}) {
        INFO(escape_for_terminal(bad));
        CHECK_FALSE(printable_text(bad));
    }
}

TEST_CASE("escape_for_terminal writes out what a terminal would act on") {
    CHECK(escape_for_terminal("INC-42 ok") == "INC-42 ok");
    CHECK(escape_for_terminal("Störung") == "Störung");
    CHECK(escape_for_terminal("a\x1b[31mred\n\tb\r") == "a\\e[31mred\\n\\tb\\r");
    CHECK(escape_for_terminal(std::string("nul\0del\x7f", 8)) == "nul\\x00del\\x7f");
    CHECK(escape_for_terminal("csi \xC2\x9B"
                              "2J") == "csi \\u{009b}2J");
    CHECK(escape_for_terminal("rlo \xE2\x80\xAE"
                              "x") == "rlo \\u{202e}x");
    CHECK(escape_for_terminal("raw \x9b byte") == "raw \\x9b byte");
    CHECK(escape_for_terminal("cut \xE2\x80") == "cut \\xe2\\x80");
    // A backslash is doubled, so an escape in the output is never ambiguous.
    CHECK(escape_for_terminal("C:\\e") == "C:\\\\e");
}

TEST_CASE("escaped text is always printable") {
    std::string all;
    for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
    all += "\xE2\x80\xAE\xE2\x81\xA6\xC2\x85";
    CHECK(printable_text(escape_for_terminal(all)));
}
