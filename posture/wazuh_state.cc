#include "wazuh_state.h"

#include <map>
#include <string>

#include "local_time.h"

namespace vigil::posture {
namespace {

std::map<std::string, std::string> quoted_values(std::string_view text) {
    std::map<std::string, std::string> out;
    while (!text.empty()) {
        size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        size_t eq = line.find("='");
        if (line.empty() || line[0] == '#' || eq == std::string_view::npos || eq == 0 || line.back() != '\'' ||
            line.size() < eq + 3) {
            continue;
        }
        out.emplace(std::string(line.substr(0, eq)), std::string(line.substr(eq + 2, line.size() - eq - 3)));
    }
    return out;
}

}  // namespace

Result<Reading> parse_wazuh_state(std::string_view text, std::chrono::system_clock::time_point now) {
    auto values = quoted_values(text);
    auto status = values.find("status");
    if (status == values.end() || status->second.empty()) return err("no status='...' line in the state file");
    Reading r;
    r.values["wazuh.status"] = status->second;
    auto keepalive = values.find("last_keepalive");
    if (keepalive == values.end() || keepalive->second.empty()) {
        r.problems.push_back("no keepalive sent yet");
        return r;
    }
    r.values["wazuh.last_keepalive"] = keepalive->second;
    r.ticking.insert("wazuh.last_keepalive");
    if (auto t = parse_local_time(keepalive->second, "%Y-%m-%d %H:%M:%S")) {
        r.values["wazuh.keepalive_age"] = std::to_string(seconds_between(*t, now));
        r.ticking.insert("wazuh.keepalive_age");
    } else {
        r.problems.push_back("last_keepalive is not a \"YYYY-MM-DD HH:MM:SS\" time");
    }
    return r;
}

}  // namespace vigil::posture
