#include "id_token.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <nlohmann/json.hpp>

#include "jws.h"
#include "timestamp.h"

namespace vigil {

namespace {

using Json = nlohmann::json;

// The provider signs with a private key whose public half is in its JWKS.
const JwsRules kIdTokenRules{"ID token", kMaxIdTokenBytes, {"RS256", "ES256"}};
using Clock = std::chrono::system_clock;
using std::chrono::seconds;

// Times past this (year 5138) are nonsense, and would overflow time_point.
constexpr double kLatestTime = 1e11;

std::string shown_list(const std::vector<std::string>& items) {
    std::string out;
    for (const std::string& item : items) out += (out.empty() ? "" : ", ") + shown_claim(item);
    return "[" + out + "]";
}

bool contains(const std::vector<std::string>& list, std::string_view item) {
    return std::find(list.begin(), list.end(), item) != list.end();
}

// A string member, or empty when absent or not a string.
std::string string_member(const Json& j, const char* name) {
    auto it = j.find(name);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Status check_issuer(const Json& claims, const std::string& issuer) {
    std::string iss = string_member(claims, "iss");
    if (iss != issuer)
        return err(fmt::format("ID token: iss \"{}\" is not the issuer \"{}\"", shown_claim(iss), issuer));
    return Ok{};
}

// aud is one string or an array of strings (OpenID Connect Core §2).
Status check_audience(const Json& claims, const std::string& client_id) {
    std::vector<std::string> aud;
    auto it = claims.find("aud");
    if (it != claims.end() && it->is_string()) aud.push_back(it->get<std::string>());
    if (it != claims.end() && it->is_array()) {
        for (const Json& a : *it) {
            if (a.is_string()) aud.push_back(a.get<std::string>());
        }
    }
    if (!contains(aud, client_id)) {
        return err(fmt::format("ID token: aud {} does not include client_id {}", shown_list(aud), client_id));
    }
    // Several audiences: only the authorized party may use the token.
    std::string azp = string_member(claims, "azp");
    if ((aud.size() > 1 || claims.contains("azp")) && azp != client_id) {
        return err(fmt::format("ID token: azp \"{}\" is not client_id {}", shown_claim(azp), client_id));
    }
    return Ok{};
}

Result<Clock::time_point> time_claim(const Json& claims, const char* name) {
    auto it = claims.find(name);
    if (it == claims.end()) return err(fmt::format("ID token: no {} claim", name));
    if (!it->is_number()) return err(fmt::format("ID token: {} is not a number", name));
    double v = it->get<double>();
    if (!std::isfinite(v) || v < 0 || v > kLatestTime) return err(fmt::format("ID token: {} is out of range", name));
    return Clock::time_point(seconds(static_cast<int64_t>(v)));
}

Status check_validity(const Json& claims, Clock::time_point now) {
    auto exp = time_claim(claims, "exp");
    if (!exp) return exp.error();
    if (now >= *exp + kIdTokenLeeway) {
        return err(fmt::format("ID token: expired at {} (now {})", rfc3339(*exp), rfc3339(now)));
    }
    auto iat = time_claim(claims, "iat");
    if (!iat) return iat.error();
    if (*iat > now + kIdTokenLeeway) {
        return err(fmt::format("ID token: issued in the future, at {} (now {})", rfc3339(*iat), rfc3339(now)));
    }
    if (claims.contains("nbf")) {
        auto nbf = time_claim(claims, "nbf");
        if (!nbf) return nbf.error();
        if (*nbf > now + kIdTokenLeeway) return err(fmt::format("ID token: not valid before {}", rfc3339(*nbf)));
    }
    return Ok{};
}

// The person must have authenticated recently: an old session at the
// provider proves nothing about who is at the keyboard now.
Result<Clock::time_point> check_auth_time(const Json& claims, std::chrono::seconds max_age, Clock::time_point now) {
    auto at = time_claim(claims, "auth_time");
    if (!at) return err(at.error().message + " (the provider must send auth_time: require_auth_time)");
    if (*at > now + kIdTokenLeeway) return err(fmt::format("ID token: auth_time {} is in the future", rfc3339(*at)));
    auto age = std::chrono::duration_cast<seconds>(now - *at);
    if (age > max_age + kIdTokenLeeway) {
        return err(fmt::format("ID token: authentication at {} is {} s old, more than max_auth_age {} s", rfc3339(*at),
                               age.count(), max_age.count()));
    }
    return *at;
}

Result<std::vector<std::string>> read_amr(const Json& claims) {
    std::vector<std::string> amr;
    auto it = claims.find("amr");
    if (it == claims.end()) return amr;
    if (!it->is_array()) return err("ID token: amr is not an array");
    for (const Json& method : *it) {
        if (!method.is_string()) return err("ID token: amr holds something other than strings");
        amr.push_back(method.get<std::string>());
    }
    return amr;
}

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
    return out;
}

Status check_second_factor(const std::vector<std::string>& amr, const std::string& acr, const DeviceFlowSettings& s) {
    if (!s.accept_acr.empty() && contains(s.accept_acr, acr)) return Ok{};
    if (std::any_of(amr.begin(), amr.end(), [&](const std::string& m) { return contains(s.accept_amr, m); })) {
        return Ok{};
    }
    std::string why = fmt::format("ID token: amr {} shows no second factor (accept_amr: {})", shown_list(amr),
                                  s.accept_amr.empty() ? "none" : join(s.accept_amr));
    if (!s.accept_acr.empty()) {
        why += fmt::format(", and acr \"{}\" is not in accept_acr ({})", shown_claim(acr), join(s.accept_acr));
    }
    return err(why);
}

// An admin upgrading from the old default (preferred_username) sees why the
// token that used to pass does not: its sub is not the local user name.
std::string old_default_hint(const Json& claims, const std::string& user_claim, const std::string& expected) {
    constexpr char kOld[] = "preferred_username";
    if (user_claim == kOld || string_member(claims, kOld) != expected) return "";
    return fmt::format(
        "; its {} is {}, but that claim names the user only when the admin sets user_claim = \"{}\" (it can "
        "change and repeat at the provider)",
        kOld, expected, kOld);
}

// The claim that names the local user: a string equal to the name byte for
// byte. "Alice", "alice " and "alice2" are other people's names, so nothing
// is folded, trimmed or matched by prefix.
Result<std::string> check_user(const Json& claims, const std::string& user_claim, const std::string& expected) {
    auto it = claims.find(user_claim);
    if (it == claims.end()) return err(fmt::format("ID token: no {} claim (user_claim) to name the user", user_claim));
    if (!it->is_string()) return err(fmt::format("ID token: {} (user_claim) is not a string", user_claim));
    std::string user = it->get<std::string>();
    if (expected.empty() || user != expected) {
        return err(fmt::format("ID token: {} \"{}\" (user_claim) is not the local user {}{}", user_claim,
                               shown_claim(user), expected, old_default_hint(claims, user_claim, expected)));
    }
    return user;
}

// Everything after the signature: who issued it, for whom, when, how.
Result<IdTokenClaims> check_claims(const Json& claims, const DeviceFlowSettings& s, const std::string& expected_user,
                                   Clock::time_point now) {
    if (Status st = check_issuer(claims, s.issuer); !st) return st.error();
    if (Status st = check_audience(claims, s.client_id); !st) return st.error();
    if (Status st = check_validity(claims, now); !st) return st.error();
    IdTokenClaims out;
    out.issuer = s.issuer;
    out.subject = string_member(claims, "sub");
    if (out.subject.empty()) return err("ID token: no sub claim");
    auto auth_time = check_auth_time(claims, s.max_auth_age, now);
    if (!auth_time) return auth_time.error();
    out.auth_time = *auth_time;
    auto amr = read_amr(claims);
    if (!amr) return amr.error();
    out.amr = std::move(*amr);
    out.acr = string_member(claims, "acr");
    if (Status st = check_second_factor(out.amr, out.acr, s); !st) return st.error();
    auto user = check_user(claims, s.user_claim, expected_user);
    if (!user) return user.error();
    out.user = std::move(*user);
    return out;
}

}  // namespace

bool is_mutable_claim(std::string_view claim) {
    static constexpr std::string_view kMutable[] = {
        "preferred_username", "email",        "name", "given_name",  "family_name", "middle_name",
        "nickname",           "phone_number", "upn",  "unique_name",  // the last two: Microsoft Entra ID's
    };
    return std::find(std::begin(kMutable), std::end(kMutable), claim) != std::end(kMutable);
}

std::string user_claim_warning(const DeviceFlowSettings& s) {
    if (!is_mutable_claim(s.user_claim)) return "";
    return fmt::format(
        "[step_up.device] user_claim = \"{}\": the provider does not promise that this claim is stable or unique; "
        "whoever gets that value there (a rename, a reused name) signs in as the local user of that name. Prefer "
        "\"sub\" or a claim the provider fills from an attribute users cannot change",
        s.user_claim);
}

Result<JwsHeader> read_jws_header(std::string_view token) {
    auto jws = parse_jws(token, kIdTokenRules);
    if (!jws) return jws.error();
    return JwsHeader{jws->alg, jws->kid};
}

Result<IdTokenClaims> verify_id_token(std::string_view token, const Jwks& keys, const DeviceFlowSettings& s,
                                      const std::string& expected_user, Clock::time_point now) {
    auto jws = parse_jws(token, kIdTokenRules);
    if (!jws) return jws.error();
    if (Status st = verify_jws_signature(*jws, keys, kIdTokenRules); !st) return st.error();
    auto claims = jws_payload(*jws, kIdTokenRules);
    if (!claims) return claims.error();
    return check_claims(*claims, s, expected_user, now);
}

}  // namespace vigil
