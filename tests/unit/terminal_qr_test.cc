#include "terminal_qr.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace {

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    size_t start = 0;
    for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
        out.push_back(text.substr(start, nl - start));
    }
    out.push_back(text.substr(start));
    return out;
}

// Splits a line into its glyphs; fails on anything but space and the three blocks.
std::vector<std::string> glyphs_of(const std::string& line) {
    std::vector<std::string> out;
    for (size_t i = 0; i < line.size();) {
        size_t n = line[i] == ' ' ? 1 : 3;
        std::string g = line.substr(i, n);
        INFO("byte offset " << i);
        REQUIRE((g == " " || g == "\u2588" || g == "\u2580" || g == "\u2584"));
        out.push_back(g);
        i += n;
    }
    return out;
}

}  // namespace

TEST_CASE("terminal QR code is a rectangle of half blocks with a light quiet zone", "[qr]") {
    const std::string uri =
        "otpauth://totp/vigil:alice?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=vigil&digits=6&period=30"
        "&algorithm=SHA1";
    auto qr = vigil::terminal_qr(uri);
    REQUIRE(qr);
    CHECK(qr->find('\x1b') == std::string::npos);
    CHECK(qr->back() != '\n');
    auto lines = lines_of(*qr);
    size_t width = glyphs_of(lines[0]).size();
    // A symbol is 21 + 4v modules wide; with 2 quiet modules each side.
    size_t modules = width - 4;
    CHECK(modules % 4 == 1);
    CHECK(modules >= 21);
    CHECK(lines.size() == (modules + 4 + 1) / 2);
    for (const auto& line : lines) CHECK(glyphs_of(line).size() == width);
    // Quiet zone: the first row and the two outer columns are all light.
    for (const auto& g : glyphs_of(lines.front())) CHECK(g == "\u2588");
    for (size_t y = 0; y + 1 < lines.size(); ++y) {
        auto row = glyphs_of(lines[y]);
        CHECK(row[0] == "\u2588");
        CHECK(row[1] == "\u2588");
        CHECK(row[width - 1] == "\u2588");
        CHECK(row[width - 2] == "\u2588");
    }
    // Finder pattern: module row 0 of the symbol (text row 1, top half) is dark across 7 modules.
    auto finder = glyphs_of(lines[1]);
    for (size_t x = 2; x < 9; ++x) CHECK((finder[x] == " " || finder[x] == "\u2584"));
}

TEST_CASE("terminal QR code grows with its text", "[qr]") {
    auto small = vigil::terminal_qr("hi");
    auto large = vigil::terminal_qr(std::string(500, 'x'));
    REQUIRE(small);
    REQUIRE(large);
    CHECK(lines_of(*small).size() == (21 + 4 + 1) / 2);  // version 1
    CHECK(lines_of(*large).size() > lines_of(*small).size());
}

TEST_CASE("terminal QR code refuses text too long for a QR code", "[qr]") {
    auto qr = vigil::terminal_qr(std::string(5000, 'x'));
    REQUIRE_FALSE(qr);
    CHECK_THAT(qr.error().message, Catch::Contains("5000 bytes do not fit"));
}

TEST_CASE("terminal QR code refuses text with a NUL byte", "[qr]") {
    CHECK_FALSE(vigil::terminal_qr(std::string("a\0b", 3)));
}
