// The combine step (combine.h): every first answer against what step-up,
// the certificate and the trail's write do to it, in order.
#include "combine.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using vigil::AuditFailure;
using vigil::CombineFacts;
using vigil::Decision;
using vigil::Outcome;
using vigil::Phase;
using namespace std::chrono_literals;

namespace {

const auto kNow = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));

Decision answer(Outcome o, std::string reason_user = "") {
    Decision d;
    d.outcome = o;
    d.rule = "r";
    d.reason_user = std::move(reason_user);
    d.reason_admin = "first";
    return d;
}

Decision pdp_asks(std::string method, bool purpose) {
    Decision d = answer(Outcome::StepUp, "the PDP wants more");
    d.step_up_method = std::move(method);
    d.needs_purpose = purpose;
    return d;
}

vigil::Rule wanting(std::string method, bool purpose) {
    vigil::Rule r;
    r.name = "r";
    r.step_up = std::move(method);
    r.purpose = purpose;
    return r;
}

CombineFacts facts(const vigil::Rule* allow = nullptr) {
    CombineFacts f;
    f.phase = Phase::Account;
    f.at = kNow;
    f.allow = allow;
    f.totp_offered = true;
    return f;
}

vigil::Status written(const Decision&) { return vigil::Ok{}; }
vigil::Status disk_full(const Decision&) { return vigil::err("No space left on device"); }

}  // namespace

TEST_CASE("step-up: what the rule or the PDP wants, against what the request proved") {
    const vigil::Rule totp = wanting("totp", false), device = wanting("device", false), reason = wanting("", true),
                      plain = wanting("", false);
    struct Row {
        const char* what;
        Decision first;
        const vigil::Rule* allow;
        std::string proven;
        bool purpose_given;
        Outcome outcome;
        std::string method;  // asked for, when the outcome is StepUp
        bool needs_purpose;
    };
    const std::vector<Row> rows = {
        {"a deny stays a deny, whatever the rule wants", answer(Outcome::Deny), &totp, "", false, Outcome::Deny, "",
         false},
        {"an allow wanting nothing stands", answer(Outcome::Allow), &plain, "", false, Outcome::Allow, "", false},
        {"no rule, no PDP ask: stands", answer(Outcome::Allow), nullptr, "", false, Outcome::Allow, "", false},
        {"the rule wants totp, none proven: step-up", answer(Outcome::Allow), &totp, "", false, Outcome::StepUp, "totp",
         false},
        {"the rule wants totp, totp proven: allow", answer(Outcome::Allow), &totp, "totp", false, Outcome::Allow, "",
         false},
        {"the rule wants totp, device proven: step-up", answer(Outcome::Allow), &totp, "device", false, Outcome::StepUp,
         "totp", false},
        {"the rule wants a reason, none given: step-up for the reason only", answer(Outcome::Allow), &reason, "", false,
         Outcome::StepUp, "", true},
        {"the rule wants a reason, given: allow", answer(Outcome::Allow), &reason, "", true, Outcome::Allow, "", false},
        {"the rule wants a method this host does not offer: deny", answer(Outcome::Allow), &device, "", false,
         Outcome::Deny, "", false},
        {"the PDP asks totp, none proven: step-up", pdp_asks("totp", false), nullptr, "", false, Outcome::StepUp,
         "totp", false},
        {"the PDP asks totp after totp was proven: deny, never a loop", pdp_asks("totp", false), nullptr, "totp", false,
         Outcome::Deny, "", false},
        {"the PDP asks a purpose, the rule totp: both asked", pdp_asks("", true), &totp, "", false, Outcome::StepUp,
         "totp", true},
        {"the PDP's method wins over the rule's", pdp_asks("totp", false), &device, "", false, Outcome::StepUp, "totp",
         false},
        {"the PDP asks a method not offered: deny", pdp_asks("device", false), nullptr, "", false, Outcome::Deny, "",
         false},
    };
    for (const Row& row : rows) {
        SECTION(row.what) {
            CombineFacts f = facts(row.allow);
            f.proven_method = row.proven;
            f.purpose_given = row.purpose_given;
            auto c = vigil::combine(row.first, f, AuditFailure::Deny, written);
            CHECK(c.decision.outcome == row.outcome);
            CHECK(c.audit_error.empty());
            if (row.outcome == Outcome::StepUp) {
                CHECK(c.decision.step_up_method == row.method);
                CHECK(c.decision.needs_purpose == row.needs_purpose);
                CHECK_FALSE(c.decision.reason_user.empty());
            }
            if (row.outcome == Outcome::Deny && row.first.outcome != Outcome::Deny) {
                CHECK(c.decision.reason_user.starts_with("access denied"));
            }
        }
    }
}

TEST_CASE("step-up: a command rule's wait for the command in sudo's PAM phase; the PDP's does not") {
    const vigil::Rule totp = wanting("totp", true);
    CombineFacts f = facts(&totp);
    f.step_up_with_command = true;
    CHECK(vigil::combine(answer(Outcome::Allow), f, AuditFailure::Deny, written).decision.outcome == Outcome::Allow);
    CHECK(vigil::combine(pdp_asks("totp", false), f, AuditFailure::Deny, written).decision.outcome == Outcome::StepUp);
    f.step_up_with_command = false;
    CHECK(vigil::combine(answer(Outcome::Allow), f, AuditFailure::Deny, written).decision.outcome == Outcome::StepUp);
}

TEST_CASE("the SSH certificate caps an account-phase allow, and an expired one denies") {
    CombineFacts f = facts();
    SECTION("no certificate: no cap") {
        auto c = vigil::combine(answer(Outcome::Allow), f, AuditFailure::Deny, written);
        CHECK_FALSE(c.decision.session_max);
    }
    SECTION("capped at the certificate's end") {
        f.certificate_ends = kNow + 600s;
        auto c = vigil::combine(answer(Outcome::Allow), f, AuditFailure::Deny, written);
        REQUIRE(c.decision.session_max);
        CHECK(*c.decision.session_max == 600s);
        CHECK(c.decision.reason_admin.find("the SSH certificate expires then") != std::string::npos);
    }
    SECTION("a shorter session_max stays") {
        f.certificate_ends = kNow + 600s;
        Decision d = answer(Outcome::Allow);
        d.session_max = 60s;
        auto c = vigil::combine(d, f, AuditFailure::Deny, written);
        CHECK(*c.decision.session_max == 60s);
    }
    SECTION("already past: deny") {
        f.certificate_ends = kNow - 1s;
        auto c = vigil::combine(answer(Outcome::Allow), f, AuditFailure::Deny, written);
        CHECK(c.decision.outcome == Outcome::Deny);
        CHECK(c.decision.reason_user == "access denied: the SSH certificate has expired");
    }
    SECTION("other phases are not capped (sshd checked it at login)") {
        f.certificate_ends = kNow - 1s;
        f.phase = Phase::Reevaluate;
        CHECK(vigil::combine(answer(Outcome::Allow), f, AuditFailure::Deny, written).decision.outcome ==
              Outcome::Allow);
    }
    SECTION("after step-up: a step-up is not capped, the allow it leads to is") {
        vigil::Rule totp = wanting("totp", false);
        f.allow = &totp;
        f.certificate_ends = kNow - 1s;
        CHECK(vigil::combine(answer(Outcome::Allow), f, AuditFailure::Deny, written).decision.outcome ==
              Outcome::StepUp);
        f.proven_method = "totp";
        CHECK(vigil::combine(answer(Outcome::Allow), f, AuditFailure::Deny, written).decision.outcome == Outcome::Deny);
    }
}

TEST_CASE("the trail's write: an allow that cannot be recorded is not given") {
    CombineFacts f = facts();
    SECTION("the record holds the answer as combined before the write") {
        f.certificate_ends = kNow + 600s;
        Decision seen;
        auto c = vigil::combine(answer(Outcome::Allow), f, AuditFailure::Deny, [&](const Decision& d) {
            seen = d;
            return vigil::Status(vigil::Ok{});
        });
        CHECK(seen.outcome == Outcome::Allow);
        CHECK(seen.session_max == c.decision.session_max);
    }
    SECTION("audit_failure = deny: the allow becomes a deny, and says why") {
        auto c = vigil::combine(answer(Outcome::Allow), f, AuditFailure::Deny, disk_full);
        CHECK(c.decision.outcome == Outcome::Deny);
        CHECK(c.decision.reason_user == "access denied: the audit trail cannot be written");
        CHECK(c.audit_error == "No space left on device");
    }
    SECTION("audit_failure = continue: the allow stands, the error is kept") {
        auto c = vigil::combine(answer(Outcome::Allow), f, AuditFailure::Continue, disk_full);
        CHECK(c.decision.outcome == Outcome::Allow);
        CHECK(c.audit_error == "No space left on device");
    }
    SECTION("a deny or a step-up is answered as it is") {
        CHECK(vigil::combine(answer(Outcome::Deny), f, AuditFailure::Deny, disk_full).decision.reason_admin == "first");
        vigil::Rule totp = wanting("totp", false);
        f.allow = &totp;
        CHECK(vigil::combine(answer(Outcome::Allow), f, AuditFailure::Deny, disk_full).decision.outcome ==
              Outcome::StepUp);
    }
    SECTION("closing a session is never refused") {
        f.phase = Phase::CloseSession;
        CHECK(vigil::combine(answer(Outcome::Allow), f, AuditFailure::Deny, disk_full).decision.outcome ==
              Outcome::Allow);
    }
    SECTION("a dry run writes nothing") {
        auto c = vigil::combine(answer(Outcome::Allow), f, AuditFailure::Deny, nullptr);
        CHECK(c.decision.outcome == Outcome::Allow);
        CHECK(c.audit_error.empty());
    }
}
