// An engine on configuration text, for the unit tests that decide through
// it: no trail, no recent decisions, no posture. The test fails where the
// text does not parse or the engine refuses it.
//
//   auto engine = vigil::testing::engine_on("[[rule]]\nname = \"r\"\n...");
//   vigil::DecisionRecord r = engine->decide(request);
#ifndef VIGIL_TESTS_UNIT_ENGINE_TESTING_H
#define VIGIL_TESTS_UNIT_ENGINE_TESTING_H

#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "config.h"
#include "engine.h"

namespace vigil::testing {

inline std::shared_ptr<Engine> engine_on(const std::string& text) {
    auto c = parse_config(text, "test.toml");
    REQUIRE(c);
    auto e = Engine::create(std::make_shared<const Config>(std::move(*c)), nullptr, nullptr, nullptr);
    REQUIRE(e);
    return *e;
}

// A decision's trail record, parsed back: what the tests inspect.
inline nlohmann::ordered_json trail_json(const DecisionRecord& r) {
    return nlohmann::ordered_json::parse(json_text(r));
}

}  // namespace vigil::testing

#endif  // VIGIL_TESTS_UNIT_ENGINE_TESTING_H
