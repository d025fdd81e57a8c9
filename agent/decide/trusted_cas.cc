#include "trusted_cas.h"

#include <fmt/format.h>

#include "config_files.h"
#include "ssh_auth_info.h"

namespace vigil {
namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

// "<type> <base64> [comment]": the fingerprint of the key's blob.
Result<std::string> line_fingerprint(std::string_view line) {
    size_t type_end = line.find_first_of(" \t");
    if (type_end == std::string_view::npos) return err("not \"<key type> <base64 key> [comment]\"");
    std::string_view rest = trim(line.substr(type_end));
    std::string_view blob = rest.substr(0, rest.find_first_of(" \t"));
    auto fp = ssh_key_fingerprint(blob);
    if (!fp) return err(fmt::format("not a public key: {}", fp.error().message));
    return *fp;
}

}  // namespace

Result<TrustedCas> TrustedCas::parse(std::string_view text, const std::string& path) {
    TrustedCas cas;
    int number = 0;
    while (!text.empty()) {
        size_t nl = text.find('\n');
        std::string_view line = trim(text.substr(0, nl));
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        ++number;
        if (line.empty() || line.front() == '#') continue;
        auto fp = line_fingerprint(line);
        if (!fp) return err(fmt::format("{}:{}: {}", path, number, fp.error().message));
        cas.add(std::move(*fp));
    }
    return cas;
}

Result<TrustedCas> TrustedCas::load(const SshSettings& s) {
    TrustedCas cas;
    if (!s.trusted_user_ca_keys.empty()) {
        auto text = read_config_file(s.trusted_user_ca_keys);
        if (!text) return err(fmt::format("[ssh] trusted_user_ca_keys: {}", text.error().message));
        auto parsed = parse(*text, s.trusted_user_ca_keys);
        if (!parsed) return parsed.error();
        cas = std::move(*parsed);
    }
    for (const auto& fp : s.trusted_ca_fingerprints) cas.add(fp);
    return cas;
}

}  // namespace vigil
