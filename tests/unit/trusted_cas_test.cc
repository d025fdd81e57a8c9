#include "trusted_cas.h"

#include <catch2/catch.hpp>

#include "ssh_auth_info.h"

using vigil::TrustedCas;

namespace {
// A CA key line as ssh-keygen writes it.
const std::string kCaLine = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIP2R4BGewhZIVbOXiPM+0OYHgNZxPL8lHE5cIqAM5e8X admin ca";
}  // namespace

TEST_CASE("trusted CAs are read as sshd's TrustedUserCAKeys file") {
    auto cas = TrustedCas::parse("# fleet CAs\n\n" + kCaLine + "\n   \n", "ca.pub");
    REQUIRE(cas);
    CHECK(cas->size() == 1);
    auto fp = vigil::ssh_key_fingerprint("AAAAC3NzaC1lZDI1NTE5AAAAIP2R4BGewhZIVbOXiPM+0OYHgNZxPL8lHE5cIqAM5e8X");
    REQUIRE(fp);
    CHECK(cas->trusts(*fp));
    CHECK_FALSE(cas->trusts("SHA256:SpXUmS5AjPKDf5Zp15YaPyofjy/xE0+G/r+xBANrXoI"));
}

TEST_CASE("a keys file that does not parse is an error naming its line") {
    auto bad = TrustedCas::parse(kCaLine + "\nssh-ed25519 not-base64!\n", "/etc/ssh/ca.pub");
    REQUIRE_FALSE(bad);
    CHECK_THAT(bad.error().message, Catch::StartsWith("/etc/ssh/ca.pub:2: "));
    CHECK_FALSE(TrustedCas::parse("ssh-ed25519\n", "ca.pub"));
}

TEST_CASE("[ssh] settings: fingerprints as ssh-keygen prints them, an absolute keys file") {
    auto ok = vigil::parse_config(
        "[ssh]\ntrusted_ca_fingerprints = [\"SHA256:SpXUmS5AjPKDf5Zp15YaPyofjy/xE0+G/r+xBANrXoI\"]\n", "t.toml");
    REQUIRE(ok);
    auto cas = TrustedCas::load(ok->ssh);
    REQUIRE(cas);
    CHECK(cas->trusts("SHA256:SpXUmS5AjPKDf5Zp15YaPyofjy/xE0+G/r+xBANrXoI"));
    CHECK_FALSE(vigil::parse_config("[ssh]\ntrusted_ca_fingerprints = [\"MD5:aa:bb\"]\n", "t.toml"));
    CHECK_FALSE(vigil::parse_config("[ssh]\ntrusted_user_ca_keys = \"ca.pub\"\n", "t.toml"));
    CHECK_FALSE(vigil::parse_config("[ssh]\ntrusted_ca = \"x\"\n", "t.toml"));
    auto missing = vigil::parse_config("[ssh]\ntrusted_user_ca_keys = \"/nonexistent/vigil/ca.pub\"\n", "t.toml");
    REQUIRE(missing);
    CHECK_FALSE(TrustedCas::load(missing->ssh));
}
