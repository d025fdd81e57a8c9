#include "ssh_auth_info.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <ctime>
#include <limits>

#include "sha256.h"

namespace vigil {
namespace {

constexpr std::string_view kCertSuffix = "-cert-v01@openssh.com";
constexpr size_t kMaxTokenLength = 128;  // method, submethod, key type

// Reads SSH wire data (RFC 4251 §5): big-endian uint32/uint64 and
// length-prefixed strings, never past the end. The first failure is kept as
// a message naming the field; every later read then fails too.
class WireReader {
public:
    WireReader(std::string_view data, std::string_view what) : data_(data), what_(what) {}

    bool u32(std::string_view field, uint32_t& out) {
        if (!need(field, 4)) return false;
        out = 0;
        for (int i = 0; i < 4; ++i) out = (out << 8) | byte(pos_++);
        return true;
    }

    bool u64(std::string_view field, uint64_t& out) {
        if (!need(field, 8)) return false;
        out = 0;
        for (int i = 0; i < 8; ++i) out = (out << 8) | byte(pos_++);
        return true;
    }

    // Leaf strings are capped at kSshWireMaxString; a string that holds
    // further packed strings (principals, options) may pass a larger cap.
    bool string(std::string_view field, std::string_view& out, size_t max = kSshWireMaxString) {
        uint32_t len = 0;
        if (!u32(field, len)) return false;
        if (len > max) {
            return fail(fmt::format("{} is {} bytes, more than the limit of {}", field, len, max));
        }
        if (!need(field, len)) return false;
        out = data_.substr(pos_, len);
        pos_ += len;
        return true;
    }

    bool at_end() const { return pos_ == data_.size(); }

    bool expect_end() {
        if (!error_.empty()) return false;
        if (at_end()) return true;
        return fail(fmt::format("{} trailing bytes", data_.size() - pos_));
    }

    size_t offset() const { return pos_; }
    std::string_view span(size_t from, size_t to) const { return data_.substr(from, to - from); }

    bool fail(std::string message) {
        if (error_.empty()) error_ = fmt::format("{}: {}", what_, message);
        return false;
    }
    const std::string& error() const { return error_; }

private:
    uint32_t byte(size_t i) const { return static_cast<unsigned char>(data_[i]); }

    bool need(std::string_view field, size_t n) {
        if (!error_.empty()) return false;
        if (data_.size() - pos_ < n) {
            return fail(fmt::format("truncated at {} (needs {} bytes, {} left)", field, n, data_.size() - pos_));
        }
        return true;
    }

    std::string_view data_;
    std::string_view what_;
    size_t pos_ = 0;
    std::string error_;
};

// Strict UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
bool valid_utf8(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            ++i;
            continue;
        }
        size_t n;
        uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (s.size() - i - 1 < n) return false;
        for (size_t k = 1; k <= n; ++k) {
            unsigned char cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (cc & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return false;
        }
        i += n + 1;
    }
    return true;
}

// Text that ends up in JSON and logs: UTF-8 (nlohmann::json throws on
// anything else when dumping) and no NUL, which OpenSSH refuses in these
// fields too.
bool check_text(WireReader& r, std::string_view field, std::string_view s) {
    if (s.find('\0') != std::string_view::npos) {
        return r.fail(fmt::format("{} contains NUL", field));
    }
    if (!valid_utf8(s)) return r.fail(fmt::format("{} is not valid UTF-8", field));
    return true;
}

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

enum class Alg { kRsa, kDss, kEcdsa, kEd25519, kSkEcdsa, kSkEd25519 };

struct KeyKind {
    std::string_view plain;
    std::string_view cert;
    Alg alg;
    std::string_view curve;  // ECDSA only
    size_t point_size;       // ECDSA only: uncompressed point, 0x04 || X || Y
};

constexpr KeyKind kKinds[] = {
    {"ssh-ed25519", "ssh-ed25519-cert-v01@openssh.com", Alg::kEd25519, "", 0},
    {"ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256-cert-v01@openssh.com", Alg::kEcdsa, "nistp256", 65},
    {"ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384-cert-v01@openssh.com", Alg::kEcdsa, "nistp384", 97},
    {"ecdsa-sha2-nistp521", "ecdsa-sha2-nistp521-cert-v01@openssh.com", Alg::kEcdsa, "nistp521", 133},
    {"ssh-rsa", "ssh-rsa-cert-v01@openssh.com", Alg::kRsa, "", 0},
    {"ssh-dss", "ssh-dss-cert-v01@openssh.com", Alg::kDss, "", 0},
    {"sk-ssh-ed25519@openssh.com", "sk-ssh-ed25519-cert-v01@openssh.com", Alg::kSkEd25519, "", 0},
    {"sk-ecdsa-sha2-nistp256@openssh.com", "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com", Alg::kSkEcdsa, "nistp256",
     65},
};

const KeyKind* kind_by_plain(std::string_view type) {
    for (const auto& k : kKinds)
        if (k.plain == type) return &k;
    return nullptr;
}

const KeyKind* kind_by_cert(std::string_view type) {
    for (const auto& k : kKinds)
        if (k.cert == type) return &k;
    return nullptr;
}

// The public key fields that follow the type name in a plain key blob, or the
// nonce in a certificate (PROTOCOL.certkeys, PROTOCOL.u2f).
bool read_key_fields(WireReader& r, const KeyKind& kind) {
    std::string_view a, b;
    switch (kind.alg) {
        case Alg::kRsa: return r.string("RSA e", a) && r.string("RSA n", b);
        case Alg::kDss:
            return r.string("DSA p", a) && r.string("DSA q", a) && r.string("DSA g", a) && r.string("DSA y", a);
        case Alg::kEd25519:
        case Alg::kSkEd25519:
            if (!r.string("Ed25519 public key", a)) return false;
            if (a.size() != 32) {
                return r.fail(fmt::format("Ed25519 public key is {} bytes, not 32", a.size()));
            }
            break;
        case Alg::kEcdsa:
        case Alg::kSkEcdsa:
            if (!r.string("ECDSA curve", a) || !r.string("ECDSA public key", b)) return false;
            if (a != kind.curve) {
                return r.fail(fmt::format("ECDSA curve does not match the key type {}", kind.plain));
            }
            if (b.size() != kind.point_size || b[0] != 0x04) {
                return r.fail(fmt::format("ECDSA public key is not an uncompressed {} point", kind.curve));
            }
            break;
    }
    if (kind.alg == Alg::kSkEd25519 || kind.alg == Alg::kSkEcdsa) {
        return r.string("security key application", a) && check_text(r, "security key application", a);
    }
    return true;
}

bool is_token(std::string_view s) {
    if (s.empty() || s.size() > kMaxTokenLength) return false;
    for (char c : s) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                  c == '.' || c == '@';
        if (!ok) return false;
    }
    return true;
}

std::string ssh_string(std::string_view s) {
    std::string out;
    uint32_t n = static_cast<uint32_t>(s.size());
    out.push_back(static_cast<char>(n >> 24));
    out.push_back(static_cast<char>(n >> 16));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n));
    out.append(s);
    return out;
}

// "SHA256:" + unpadded base64 of the digest, as ssh-keygen -l prints it.
std::string fingerprint(std::string_view blob) {
    Sha256Digest digest = sha256(blob);
    unsigned char b64[4 * ((32 + 2) / 3) + 1];
    int n = EVP_EncodeBlock(b64, digest.data(), static_cast<int>(digest.size()));
    std::string out = "SHA256:";
    out.append(reinterpret_cast<const char*>(b64), static_cast<size_t>(n));
    while (out.back() == '=') out.pop_back();
    return out;
}

Result<std::string> base64_decode(std::string_view in) {
    if (in.empty()) return err("empty base64 key");
    if (in.size() % 4 != 0) {
        return err(fmt::format("base64 key length {} is not a multiple of 4", in.size()));
    }
    size_t pad = 0;
    if (in.back() == '=') pad = in[in.size() - 2] == '=' ? 2 : 1;
    for (size_t i = 0; i < in.size() - pad; ++i) {
        char c = in[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
        if (!ok) return err(fmt::format("invalid base64 character at offset {}", i));
    }
    std::string out(in.size() / 4 * 3, '\0');
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
    if (n < 0 || static_cast<size_t>(n) != out.size()) return err("invalid base64 key");
    out.resize(out.size() - pad);
    return out;
}

// Packed (name, data) pairs: critical options and extensions.
bool read_options(WireReader& outer, std::string_view field, bool critical,
                  std::vector<std::pair<std::string, std::string>>& out) {
    std::string_view packed;
    if (!outer.string(field, packed, std::numeric_limits<uint32_t>::max())) return false;
    WireReader r(packed, field);
    while (!r.at_end()) {
        std::string_view name, data;
        if (!r.string("name", name) || !r.string("data", data)) return outer.fail(r.error());
        if (out.size() == kSshCertMaxOptions) {
            return outer.fail(fmt::format("more than {} {}", kSshCertMaxOptions, field));
        }
        if (name.empty()) return outer.fail(fmt::format("{}: empty name", field));
        if (!check_text(outer, fmt::format("{} name", field), name)) return false;
        for (const auto& option : out) {
            if (option.first == name) {
                return outer.fail(fmt::format("{}: \"{}\" appears twice", field, name));
            }
        }
        std::string value;
        // A critical option's data is empty (a flag) or holds one string.
        // Extensions carry no data in OpenSSH; whatever is there is ignored.
        if (critical && !data.empty()) {
            std::string what = fmt::format("critical option \"{}\"", name);
            WireReader v(data, what);
            std::string_view s;
            if (!v.string("value", s) || !v.expect_end()) return outer.fail(v.error());
            if (!check_text(outer, what, s)) return false;
            value = s;
        }
        out.emplace_back(name, std::move(value));
    }
    return true;
}

Result<SshCertificate> parse_certificate(WireReader& r, const KeyKind& kind, std::string& plain_blob) {
    SshCertificate c;
    c.key_type = kind.cert;
    std::string_view nonce;
    if (!r.string("nonce", nonce)) return err(r.error());
    size_t fields_from = r.offset();
    if (!read_key_fields(r, kind)) return err(r.error());
    plain_blob = ssh_string(kind.plain);
    plain_blob.append(r.span(fields_from, r.offset()));

    uint32_t type = 0;
    std::string_view key_id, principals;
    if (!r.u64("serial", c.serial) || !r.u32("certificate type", type)) return err(r.error());
    if (type != 1 && type != 2) {
        r.fail(fmt::format("certificate type {} is neither user (1) nor host (2)", type));
        return err(r.error());
    }
    c.user_cert = type == 1;
    if (!r.string("key id", key_id) || !check_text(r, "key id", key_id) ||
        !r.string("valid principals", principals, std::numeric_limits<uint32_t>::max())) {
        return err(r.error());
    }
    c.key_id = key_id;
    WireReader p(principals, "valid principals");
    while (!p.at_end()) {
        std::string_view name;
        if (!p.string("principal", name)) return err(p.error());
        if (c.principals.size() == kSshCertMaxPrincipals) {
            return err(fmt::format("certificate has more than {} principals", kSshCertMaxPrincipals));
        }
        if (!check_text(p, "principal", name)) return err(p.error());
        c.principals.emplace_back(name);
    }
    if (!r.u64("valid after", c.valid_after) || !r.u64("valid before", c.valid_before) ||
        !read_options(r, "critical options", true, c.critical_options)) {
        return err(r.error());
    }
    std::vector<std::pair<std::string, std::string>> extensions;
    if (!read_options(r, "extensions", false, extensions)) return err(r.error());
    for (auto& e : extensions) c.extensions.push_back(std::move(e.first));

    std::string_view reserved, ca_key, signature;
    if (!r.string("reserved", reserved) || !r.string("signature key", ca_key) || !r.string("signature", signature) ||
        !r.expect_end()) {
        return err(r.error());
    }
    if (signature.empty()) return err("certificate: empty signature");

    WireReader ca(ca_key, "signature key");
    std::string_view ca_type;
    if (!ca.string("key type", ca_type)) return err(ca.error());
    if (ends_with(ca_type, kCertSuffix)) {
        return err("certificate: signed by a certificate, not a key");
    }
    if (const KeyKind* ca_kind = kind_by_plain(ca_type)) {
        if (!read_key_fields(ca, *ca_kind) || !ca.expect_end()) return err(ca.error());
    } else if (!is_token(ca_type)) {
        return err("signature key: invalid key type");
    }
    c.ca_key_type = ca_type;
    c.ca_fingerprint = fingerprint(ca_key);
    return c;
}

// Splits off the text up to the next space; `rest` keeps what follows it.
std::string_view next_field(std::string_view& rest, bool& had_space) {
    size_t sp = rest.find(' ');
    std::string_view field = rest.substr(0, sp);
    had_space = sp != std::string_view::npos;
    rest = had_space ? rest.substr(sp + 1) : std::string_view{};
    return field;
}

Status parse_key(SshAuthMethod& m, std::string_view key_type, std::string_view b64) {
    auto blob = base64_decode(b64);
    if (!blob) return blob.error();
    WireReader r(*blob, "key blob");
    std::string_view type;
    if (!r.string("key type", type)) return err(r.error());
    if (type != key_type) {
        return err(fmt::format("the line says {} but the key is {}", key_type, is_token(type) ? type : "unreadable"));
    }
    std::string plain_blob;
    if (ends_with(type, kCertSuffix)) {
        const KeyKind* kind = kind_by_cert(type);
        if (kind == nullptr) return err(fmt::format("unsupported certificate type {}", type));
        auto cert = parse_certificate(r, *kind, plain_blob);
        if (!cert) return cert.error();
        m.certificate = std::move(*cert);
    } else {
        // Unknown plain key types pass: their fingerprint is still exact.
        if (const KeyKind* kind = kind_by_plain(type)) {
            if (!read_key_fields(r, *kind) || !r.expect_end()) return err(r.error());
        }
        plain_blob = std::move(*blob);
    }
    m.fingerprint = fingerprint(plain_blob);
    return Ok{};
}

Result<SshAuthMethod> parse_line(std::string_view line) {
    if (line.empty()) return err("empty line");
    for (char c : line) {
        unsigned char u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) return err("control character in line");
    }
    if (!valid_utf8(line)) return err("not valid UTF-8");

    SshAuthMethod m;
    bool more = false;
    std::string_view rest = line;
    std::string_view method = next_field(rest, more);
    if (size_t slash = method.find('/'); slash != std::string_view::npos) {
        m.submethod = method.substr(slash + 1);
        method = method.substr(0, slash);
        if (!is_token(m.submethod)) return err("invalid submethod");
    }
    if (!is_token(method)) return err("invalid method name");
    m.method = method;

    if (method == "publickey" || method == "hostbased") {
        if (!more) return err(fmt::format("{} without a key", method));
        std::string_view key_type = next_field(rest, more);
        if (!is_token(key_type)) return err("invalid key type");
        if (!more) return err(fmt::format("{} {} without a key", method, key_type));
        std::string_view b64 = next_field(rest, more);
        m.key_type = key_type;
        if (auto st = parse_key(m, key_type, b64); !st) {
            return err(fmt::format("{} {}: {}", method, key_type, st.error().message));
        }
    }
    if (more) {
        if (rest.empty()) return err("trailing space");
        m.info = rest;
    }
    return m;
}

}  // namespace

Result<std::string> ssh_key_fingerprint(std::string_view base64_blob) {
    auto blob = base64_decode(base64_blob);
    if (!blob) return blob.error();
    return fingerprint(*blob);
}

const SshCertificate* SshAuthInfo::first_certificate() const {
    for (const auto& m : methods)
        if (m.certificate) return &*m.certificate;
    return nullptr;
}

std::string SshAuthInfo::publickey_fingerprint() const {
    for (const auto& m : methods)
        if (m.method == "publickey" && !m.fingerprint.empty()) return m.fingerprint;
    return "";
}

Result<SshAuthInfo> parse_ssh_auth_info(std::string_view text) {
    if (text.size() > kSshAuthInfoMaxBytes) {
        return err(
            fmt::format("SSH_AUTH_INFO_0 is {} bytes, more than the limit of {}", text.size(), kSshAuthInfoMaxBytes));
    }
    SshAuthInfo info;
    if (text.empty()) return info;
    if (text.back() == '\n') text.remove_suffix(1);  // sshd ends every line with one
    for (size_t line_no = 1;; ++line_no) {
        size_t nl = text.find('\n');
        if (info.methods.size() == kSshAuthInfoMaxMethods) {
            return err(fmt::format("SSH_AUTH_INFO_0 has more than {} methods", kSshAuthInfoMaxMethods));
        }
        auto m = parse_line(text.substr(0, nl));
        if (!m) return err(fmt::format("SSH_AUTH_INFO_0 line {}: {}", line_no, m.error().message));
        info.methods.push_back(std::move(*m));
        if (nl == std::string_view::npos) break;
        text.remove_prefix(nl + 1);
    }
    return info;
}

std::string ssh_time_rfc3339(uint64_t seconds) {
    constexpr uint64_t kMax = 253402300799;  // 9999-12-31T23:59:59Z
    if (seconds > kMax) seconds = kMax;
    time_t t = static_cast<time_t>(seconds);
    struct tm tm {};
    char buf[32];
    if (gmtime_r(&t, &tm) == nullptr || strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        return "9999-12-31T23:59:59Z";
    }
    return buf;
}

nlohmann::ordered_json to_json(const SshCertificate& c) {
    nlohmann::ordered_json j;
    j["key_type"] = c.key_type;
    j["type"] = c.user_cert ? "user" : "host";
    j["serial"] = c.serial;
    j["key_id"] = c.key_id;
    j["principals"] = c.principals;
    j["valid_after"] = c.valid_after;
    j["valid_after_rfc3339"] = ssh_time_rfc3339(c.valid_after);
    j["valid_before"] = c.valid_before;
    j["valid_before_rfc3339"] = ssh_time_rfc3339(c.valid_before);
    j["expires"] = c.valid_before != kSshCertForever;
    auto options = nlohmann::ordered_json::object();
    for (const auto& [name, value] : c.critical_options) options[name] = value;
    j["critical_options"] = std::move(options);
    j["extensions"] = c.extensions;
    j["ca_key_type"] = c.ca_key_type;
    j["ca_fingerprint"] = c.ca_fingerprint;
    return j;
}

nlohmann::ordered_json to_json(const SshAuthInfo& info) {
    nlohmann::ordered_json j;
    auto methods = nlohmann::ordered_json::array();
    for (const auto& m : info.methods) {
        nlohmann::ordered_json mj;
        mj["method"] = m.method;
        mj["submethod"] = m.submethod;
        mj["key_type"] = m.key_type;
        mj["fingerprint"] = m.fingerprint;
        mj["info"] = m.info;
        if (m.certificate) mj["certificate"] = to_json(*m.certificate);
        methods.push_back(std::move(mj));
    }
    j["methods"] = std::move(methods);
    if (const SshCertificate* c = info.first_certificate()) j["certificate"] = to_json(*c);
    return j;
}

}  // namespace vigil
