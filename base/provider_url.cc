#include "provider_url.h"

#include <fmt/format.h>

#include <algorithm>

namespace vigil {
namespace {

bool is_loopback_host(std::string_view host) { return host == "127.0.0.1" || host == "[::1]" || host == "localhost"; }

}  // namespace

Status check_provider_url(std::string_view url, std::string_view what) {
    if (std::any_of(url.begin(), url.end(), [](unsigned char c) { return c <= 0x20 || c >= 0x7f; })) {
        return err(fmt::format("{} contains spaces or control characters", what));
    }
    bool https = url.starts_with("https://");
    if (!https && !url.starts_with("http://")) return err(fmt::format("{} {}: must be an https:// URL", what, url));
    std::string_view rest = url.substr(https ? 8 : 7);
    std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
    if (authority.empty() || authority.find('@') != std::string_view::npos) {
        return err(fmt::format("{} {}: no host, or a user name in the URL", what, url));
    }
    size_t host_end = authority.starts_with('[') ? authority.find(']') + 1 : authority.find(':');
    std::string_view host = authority.substr(0, host_end);
    if (!https && !is_loopback_host(host)) {
        return err(fmt::format("{} {}: plain http is allowed only on loopback; use https://", what, url));
    }
    return Ok{};
}

}  // namespace vigil
