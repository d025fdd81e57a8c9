#include "security_event.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>

#include "jws.h"

namespace vigil {
namespace {

using Clock = std::chrono::system_clock;
using Json = nlohmann::json;

constexpr std::string_view kWhat = "SET";
// Times past this (year 5138) are nonsense, and would overflow time_point.
constexpr double kLatestTime = 1e11;
constexpr std::string_view kEventTypePrefixes[] = {
    "https://schemas.openid.net/secevent/caep/event-type/",
    "https://schemas.openid.net/secevent/ssf/event-type/",
    "https://schemas.openid.net/secevent/risc/event-type/",
};

SetCheck refused(SetError code, std::string description) { return {std::nullopt, {code, std::move(description)}}; }

SetCheck refused(SetError code, const Error& e) { return refused(code, e.message); }

std::string string_member(const Json& j, const char* name) {
    auto it = j.find(name);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// RFC 7515 §4.1.9: "secevent+jwt" stands for "application/secevent+jwt".
bool set_type(const Json& header) {
    std::string typ = lower(string_member(header, "typ"));
    return typ == "secevent+jwt" || typ == "application/secevent+jwt";
}

std::vector<std::string> audiences(const Json& claims) {
    std::vector<std::string> out;
    auto it = claims.find("aud");
    if (it != claims.end() && it->is_string()) out.push_back(it->get<std::string>());
    if (it != claims.end() && it->is_array()) {
        for (const Json& a : *it) {
            if (a.is_string()) out.push_back(a.get<std::string>());
        }
    }
    return out;
}

std::string shown_list(const std::vector<std::string>& items) {
    std::string out;
    for (const std::string& item : items) out += fmt::format("{}\"{}\"", out.empty() ? "" : ", ", shown_claim(item));
    return "[" + out + "]";
}

std::optional<Clock::time_point> numeric_date(const Json& j, const char* name) {
    auto it = j.find(name);
    if (it == j.end() || !it->is_number()) return std::nullopt;
    double v = it->get<double>();
    if (!std::isfinite(v) || v < 0 || v > kLatestTime) return std::nullopt;
    return Clock::time_point(std::chrono::seconds(static_cast<int64_t>(v)));
}

std::optional<SetRefusal> check_claims(std::string_view jti, const Json& claims, const StreamTrust& trust,
                                       Clock::time_point now) {
    auto refuse = [](SetError code, std::string why) { return SetRefusal{code, std::move(why)}; };
    std::string iss = string_member(claims, "iss");
    if (iss != trust.issuer) {
        return refuse(SetError::InvalidIssuer,
                      fmt::format("SET: iss \"{}\" is not the issuer \"{}\"", shown_claim(iss), trust.issuer));
    }
    auto aud = audiences(claims);
    bool ours = std::any_of(aud.begin(), aud.end(), [&](const std::string& a) {
        return std::find(trust.audience.begin(), trust.audience.end(), a) != trust.audience.end();
    });
    if (!ours) {
        return refuse(SetError::InvalidAudience, fmt::format("SET: aud {} does not include the stream's {}",
                                                             shown_list(aud), shown_list(trust.audience)));
    }
    if (string_member(claims, "jti") != jti) {
        return refuse(SetError::InvalidRequest, fmt::format("SET: jti \"{}\" is not the one it was delivered as",
                                                            shown_claim(string_member(claims, "jti"))));
    }
    if (claims.contains("sub") || claims.contains("exp")) {
        return refuse(SetError::InvalidRequest, "SET: carries sub or exp, which SSF forbids in a SET");
    }
    auto iat = numeric_date(claims, "iat");
    if (!iat) return refuse(SetError::InvalidRequest, "SET: no iat, or not a time");
    if (*iat > now + kSetClockSkew) return refuse(SetError::InvalidRequest, "SET: iat is in the future");
    if (*iat + trust.max_age < now) {
        return refuse(
            SetError::InvalidRequest,
            fmt::format("SET: issued more than {} s ago, longer than vigil remembers SETs for", trust.max_age.count()));
    }
    return std::nullopt;
}

// The one event, and its subject.
std::optional<SetRefusal> read_event(const Json& claims, SecurityEvent& e) {
    auto events = claims.find("events");
    if (events == claims.end() || !events->is_object() || events->size() != 1) {
        return SetRefusal{SetError::InvalidRequest, "SET: events does not hold exactly one event"};
    }
    e.type = events->begin().key();
    e.event = events->begin().value();
    if (!e.event.is_object()) return SetRefusal{SetError::InvalidRequest, "SET: the event is not a JSON object"};
    auto sub = claims.find("sub_id");
    e.subject = sub != claims.end() ? *sub : e.event.value("subject", Json());
    if (e.subject.is_object() && !e.subject.contains("format") && e.subject.contains("subject_type")) {
        e.subject["format"] = e.subject["subject_type"];
    }
    if (!e.subject.is_object() || !e.subject.contains("format") || !e.subject["format"].is_string()) {
        return SetRefusal{SetError::InvalidRequest, "SET: no sub_id with a format"};
    }
    return std::nullopt;
}

}  // namespace

const char* to_string(SetError e) {
    switch (e) {
        case SetError::InvalidRequest: return "invalid_request";
        case SetError::InvalidKey: return "invalid_key";
        case SetError::InvalidIssuer: return "invalid_issuer";
        case SetError::InvalidAudience: return "invalid_audience";
    }
    return "invalid_request";
}

SetCheck verify_set(std::string_view jti, std::string_view token, const Jwks& keys, const StreamTrust& trust,
                    Clock::time_point now) {
    const JwsRules rules{kWhat, kMaxSetBytes, trust.algs};
    auto jws = parse_jws(token, rules);
    if (!jws) return refused(SetError::InvalidRequest, jws.error());
    if (!set_type(jws->header)) {
        return refused(SetError::InvalidRequest, fmt::format("SET: typ \"{}\" is not secevent+jwt",
                                                             shown_claim(string_member(jws->header, "typ"))));
    }
    if (Status signed_ok = verify_jws_signature(*jws, keys, rules); !signed_ok) {
        return refused(SetError::InvalidKey, signed_ok.error());
    }
    auto claims = jws_payload(*jws, rules);
    if (!claims) return refused(SetError::InvalidRequest, claims.error());
    if (auto no = check_claims(jti, *claims, trust, now)) return {std::nullopt, std::move(*no)};
    SecurityEvent e;
    if (auto no = read_event(*claims, e)) return {std::nullopt, std::move(*no)};
    e.jti = std::string(jti);
    e.issuer = trust.issuer;
    e.txn = string_member(*claims, "txn");
    e.issued_at = *numeric_date(*claims, "iat");
    e.event_time = numeric_date(e.event, "event_timestamp");
    return {std::move(e), {}};
}

std::string event_name(std::string_view type) {
    for (std::string_view prefix : kEventTypePrefixes) {
        if (type.starts_with(prefix) && type.size() > prefix.size()) return std::string(type.substr(prefix.size()));
    }
    return std::string(type);
}

}  // namespace vigil
