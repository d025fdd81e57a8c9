#include "events.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

namespace {

std::string read(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// The ids of the catalog's "-- <id>" headers.
std::set<std::string> catalog_ids() {
    std::set<std::string> ids;
    std::istringstream in(read(std::string(VIGIL_SOURCE_DIR) + "/conf/catalog/vigil.catalog"));
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("-- ", 0) == 0) ids.insert(line.substr(3));
    }
    return ids;
}

// Every 32-hex-digit string literal in the agent's sources: an id used
// anywhere, not only through the table, must be in the catalog too.
std::set<std::string> ids_in_sources() {
    std::set<std::string> ids;
    static const std::regex literal("\"([0-9a-f]{32})\"");
    for (const char* dir : {"/agent", "/base", "/posture"}) {
        for (const auto& e : std::filesystem::recursive_directory_iterator(std::string(VIGIL_SOURCE_DIR) + dir)) {
            if (!e.is_regular_file()) continue;
            std::string text = read(e.path());
            for (std::sregex_iterator it(text.begin(), text.end(), literal), end; it != end; ++it) {
                ids.insert((*it)[1]);
            }
        }
    }
    return ids;
}

}  // namespace

TEST_CASE("every event has one table row with a well-formed, distinct MESSAGE_ID") {
    std::set<std::string> seen;
    for (int e = 0; e <= static_cast<int>(vigil::Event::BreakGlassUsed); ++e) {
        const vigil::EventInfo& info = vigil::event_info(static_cast<vigil::Event>(e));
        CHECK(static_cast<int>(info.event) == e);
        CHECK(std::regex_match(info.message_id, std::regex("[0-9a-f]{32}")));
        CHECK(seen.insert(info.message_id).second);
    }
    CHECK(seen.size() == vigil::all_events().size());
}

TEST_CASE("the journal catalog covers every MESSAGE_ID the code uses, and no other") {
    std::set<std::string> table;
    for (const vigil::EventInfo& i : vigil::all_events()) table.insert(i.message_id);
    std::set<std::string> catalog = catalog_ids();
    CHECK(catalog == table);
    CHECK(ids_in_sources() == table);
}

TEST_CASE("every catalog entry has a Subject, Defined-By and Support line") {
    std::string text = read(std::string(VIGIL_SOURCE_DIR) + "/conf/catalog/vigil.catalog");
    std::regex entry(R"(-- ([0-9a-f]{32})\nSubject: [^\n]+\nDefined-By: vigil\nSupport: [^\n]+\n)");
    auto n = std::distance(std::sregex_iterator(text.begin(), text.end(), entry), std::sregex_iterator());
    CHECK(static_cast<size_t>(n) == vigil::all_events().size());
}
