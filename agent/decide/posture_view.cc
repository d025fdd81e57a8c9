#include "posture_view.h"

#include <fmt/format.h>

#include <algorithm>

#include "requirement.h"
#include "stale_signals.h"

namespace vigil {
namespace {

void add_requirements(PostureView& v, const std::vector<posture::Requirement>& rs, const posture::Snapshot& snap,
                      std::chrono::system_clock::time_point now, std::chrono::seconds max_age) {
    for (const posture::Requirement& r : rs) {
        std::string key = r.within ? fmt::format("{} within {}s", r.text, r.within->count()) : r.text;
        v.requirements[key] = posture::check_requirement(r, snap, now, max_age).empty();
    }
}

std::string quoted_or_missing(const std::map<std::string, std::string>& values, const std::string& name) {
    auto it = values.find(name);
    return it == values.end() ? "missing" : fmt::format("\"{}\"", it->second);
}

}  // namespace

bool is_ticking(const posture::Signal& s, const Config& c) {
    const auto& named = c.posture.ticking;
    return s.ticking || std::find(named.begin(), named.end(), s.name) != named.end();
}

PostureView posture_view(const Config& c, const posture::Snapshot& snap, std::chrono::system_clock::time_point now) {
    PostureView v;
    const auto max_age = c.posture.max_age;
    add_requirements(v, c.posture.require, snap, now, max_age);
    for (const Rule& rule : c.rules) add_requirements(v, rule.require, snap, now, max_age);
    if (c.pdp.urls.empty()) return v;
    // What pdp_query.cc sends: fresh signals only.
    for (const posture::Signal& s : snap) {
        if (!is_ticking(s, c) && !is_stale(s, now, max_age)) v.pdp_signals[s.name] = s.value;
    }
    return v;
}

std::vector<std::string> view_changes(const PostureView& before, const PostureView& after) {
    std::vector<std::string> out;
    for (const auto& [text, holds] : after.requirements) {
        auto it = before.requirements.find(text);
        if (it != before.requirements.end() && it->second != holds)
            out.push_back(fmt::format("requirement \"{}\" now {}", text, holds ? "holds" : "fails"));
        if (it == before.requirements.end()) out.push_back(fmt::format("requirement \"{}\" is new", text));
    }
    std::map<std::string, std::string> names = before.pdp_signals;
    names.insert(after.pdp_signals.begin(), after.pdp_signals.end());
    for (const auto& [name, ignored] : names) {
        std::string was = quoted_or_missing(before.pdp_signals, name), is = quoted_or_missing(after.pdp_signals, name);
        if (was != is) out.push_back(fmt::format("signal {}: {} -> {}", name, was, is));
    }
    return out;
}

}  // namespace vigil
