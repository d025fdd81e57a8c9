#include "totp_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>
#include <vector>

#include "totp_code.h"

using namespace std::chrono_literals;
using vigil::Secret;
using vigil::TotpCheck;
using vigil::TotpSettings;
using vigil::TotpStore;
using vigil::TotpVerdict;
using Clock = std::chrono::system_clock;

namespace {

Clock::time_point at(int64_t unix_seconds) { return Clock::time_point(std::chrono::seconds(unix_seconds)); }

// RFC 6238 appendix B: the SHA1 secret is the ASCII string "12345678901234567890".
const Secret& rfc_secret() {
    static const Secret s("12345678901234567890");
    return s;
}

TotpSettings eight_digits(unsigned skew) {
    TotpSettings s;
    s.digits = 8;
    s.skew_steps = skew;
    return s;
}

// A store in a fresh directory under /tmp; removed with everything in it.
struct TempStore {
    std::filesystem::path root;
    TotpSettings settings;
    TempStore() {
        char tmpl[] = "/tmp/vigil-totp-XXXXXX";
        root = mkdtemp(tmpl);
        settings.store_dir = (root / "totp").string();
        settings.lockout_after = 3;
        settings.lockout_for = 600s;
    }
    ~TempStore() { std::filesystem::remove_all(root); }
    std::string file(const std::string& user) const { return settings.store_dir + "/" + user; }
    void write(const std::string& user, const std::string& text, mode_t mode = 0600) const {
        std::filesystem::create_directories(settings.store_dir);
        ::chmod(settings.store_dir.c_str(), 0700);
        std::ofstream(file(user), std::ios::binary) << text;
        REQUIRE(::chmod(file(user).c_str(), mode) == 0);
    }
};

// Enrols user and returns the raw secret, to play the authenticator app.
Secret enrol(TotpStore& store, const std::string& user) {
    auto e = store.enroll(user, false);
    REQUIRE(e);
    auto raw = vigil::base32_decode(e->secret_base32.reveal());
    REQUIRE(raw);
    return std::move(*raw);
}

const int64_t kNow = 1'700'000'010;  // inside step 56'666'667

std::string code_at(const Secret& secret, int64_t unix_seconds, unsigned digits = 6) {
    return vigil::totp_code_for_step(secret, static_cast<uint64_t>(unix_seconds / 30), digits);
}

}  // namespace

// ------------------------------------------------------------- codes ----

TEST_CASE("TOTP codes match the RFC 6238 SHA1 test vectors", "[totp]") {
    struct Vector {
        int64_t t;
        const char* code;
        uint64_t step;
    };
    for (Vector v :
         {Vector{59, "94287082", 1}, Vector{1111111109, "07081804", 37037036}, Vector{1111111111, "14050471", 37037037},
          Vector{1234567890, "89005924", 41152263}, Vector{2000000000, "69279037", 66666666}}) {
        INFO("T = " << v.t);
        CHECK(vigil::totp_step(at(v.t), 30s) == v.step);
        CHECK(vigil::totp_code_for_step(rfc_secret(), v.step, 8) == v.code);
        CHECK(vigil::matching_step(rfc_secret(), v.code, at(v.t), eight_digits(0)) == v.step);
    }
    // T = 20000000000 is past what system_clock's nanoseconds can hold; check its step directly.
    CHECK(vigil::totp_code_for_step(rfc_secret(), 666666666, 8) == "65353130");
    // Six digits are the last six of the same truncation.
    TotpSettings six;
    CHECK(vigil::matching_step(rfc_secret(), "287082", at(59), six) == 1u);
}

TEST_CASE("TOTP code is accepted exactly skew_steps steps either side of now", "[totp]") {
    const uint64_t step = 37037037;  // 1111111110 .. 1111111139
    std::string code = vigil::totp_code_for_step(rfc_secret(), step, 8);
    const int64_t first = static_cast<int64_t>(step) * 30;
    auto match = [&](int64_t t, unsigned skew) {
        return vigil::matching_step(rfc_secret(), code, at(t), eight_digits(skew));
    };
    CHECK(match(first - 30, 1) == step);  // first second of the step before
    CHECK(match(first + 59, 1) == step);  // last second of the step after
    CHECK_FALSE(match(first - 31, 1));    // two steps before
    CHECK_FALSE(match(first + 60, 1));    // two steps after
    CHECK(match(first - 60, 2) == step);  // a wider window
    CHECK(match(first + 29, 0) == step);  // no skew: only its own step
    CHECK_FALSE(match(first - 1, 0));
    CHECK_FALSE(match(first + 30, 0));
}

TEST_CASE("TOTP code that is not exactly `digits` ASCII digits never matches", "[totp]") {
    TotpSettings six;  // the code for T=59 is 287082
    for (const char* bad : {"", "28708", "2870820", " 287082", "287082 ", "+28708", "28708a", "28708\n",
                            "\xef\xbc\x92"
                            "87082",
                            "94287082"}) {
        INFO("code \"" << bad << "\"");
        CHECK_FALSE(vigil::matching_step(rfc_secret(), bad, at(59), six));
    }
    CHECK_FALSE(vigil::matching_step(rfc_secret(),
                                     std::string_view("287\0"
                                                      "82",
                                                      6),
                                     at(59), six));
}

TEST_CASE("TOTP secrets are 20 random bytes and round-trip through unpadded base32", "[totp]") {
    auto a = vigil::random_totp_secret(), b = vigil::random_totp_secret();
    REQUIRE(a);
    REQUIRE(b);
    CHECK(a->size() == 20);
    CHECK(a->reveal() != b->reveal());
    auto text = vigil::base32_encode(*a);
    REQUIRE(text);
    CHECK(std::regex_match(std::string(text->reveal()), std::regex("[A-Z2-7]{32}")));
    auto back = vigil::base32_decode(text->reveal());
    REQUIRE(back);
    CHECK(back->reveal() == a->reveal());
    CHECK(vigil::base32_decode("gezdgnbvgy3tqojqgezdgnbvgy3tqojq")->reveal() == "12345678901234567890");
    CHECK_FALSE(vigil::base32_decode("not base32!"));
    CHECK_FALSE(vigil::base32_decode(""));
}

// ------------------------------------------------------------- store ----

TEST_CASE("TOTP verdicts have stable names", "[totp]") {
    CHECK(std::string(to_string(TotpVerdict::Accepted)) == "accepted");
    CHECK(std::string(to_string(TotpVerdict::Wrong)) == "wrong");
    CHECK(std::string(to_string(TotpVerdict::Replayed)) == "replayed");
    CHECK(std::string(to_string(TotpVerdict::LockedOut)) == "locked_out");
    CHECK(std::string(to_string(TotpVerdict::NotEnrolled)) == "not_enrolled");
    CHECK(std::string(to_string(TotpVerdict::StoreError)) == "store_error");
}

TEST_CASE("TOTP enrol creates a 0700 store and a 0600 file, and returns an otpauth URI", "[totp]") {
    TempStore t;
    t.settings.issuer = "ACME Corp";
    TotpStore store(t.settings);
    auto e = store.enroll("alice", false);
    REQUIRE(e);
    struct stat dir {
    }, file{};
    REQUIRE(::stat(t.settings.store_dir.c_str(), &dir) == 0);
    REQUIRE(::stat(t.file("alice").c_str(), &file) == 0);
    CHECK((dir.st_mode & 07777) == 0700);
    CHECK((file.st_mode & 07777) == 0600);
    CHECK(file.st_uid == geteuid());
    CHECK(e->uri == "otpauth://totp/ACME%20Corp:alice?secret=" + std::string(e->secret_base32.reveal()) +
                        "&issuer=ACME%20Corp&digits=6&period=30&algorithm=SHA1");
    CHECK(store.enrolled("alice"));
    CHECK_FALSE(store.enrolled("bob"));
}

TEST_CASE("TOTP enrol refuses an enrolled user unless asked to replace", "[totp]") {
    TempStore t;
    TotpStore store(t.settings);
    auto first = store.enroll("alice", false);
    REQUIRE(first);
    auto again = store.enroll("alice", false);
    REQUIRE_FALSE(again);
    CHECK_THAT(again.error().message, Catch::Contains("already enrolled"));
    auto replaced = store.enroll("alice", true);
    REQUIRE(replaced);
    CHECK(replaced->secret_base32.reveal() != first->secret_base32.reveal());
}

TEST_CASE("TOTP verify accepts the current code once and refuses its replay", "[totp]") {
    TempStore t;
    TotpStore store(t.settings);
    Secret secret = enrol(store, "alice");
    std::string code = code_at(secret, kNow);
    TotpCheck ok = store.verify("alice", code, at(kNow));
    CHECK(ok.verdict == TotpVerdict::Accepted);
    TotpCheck again = store.verify("alice", code, at(kNow + 5));
    CHECK(again.verdict == TotpVerdict::Replayed);
    CHECK_THAT(again.detail, !Catch::Contains(code));
}

TEST_CASE("TOTP verify refuses an older step's code after a newer one was accepted", "[totp]") {
    TempStore t;
    TotpStore store(t.settings);
    Secret secret = enrol(store, "alice");
    REQUIRE(store.verify("alice", code_at(secret, kNow), at(kNow)).verdict == TotpVerdict::Accepted);
    // Still inside the skew window, but for the step before the accepted one.
    CHECK(store.verify("alice", code_at(secret, kNow - 30), at(kNow)).verdict == TotpVerdict::Replayed);
    CHECK(store.verify("alice", code_at(secret, kNow + 30), at(kNow + 30)).verdict == TotpVerdict::Accepted);
}

TEST_CASE("TOTP lockout after lockout_after failures, released after lockout_for", "[totp]") {
    TempStore t;
    TotpStore store(t.settings);  // 3 failures lock for 600 s
    Secret secret = enrol(store, "alice");
    std::string wrong = code_at(secret, kNow) == "000000" ? "111111" : "000000";
    CHECK(store.verify("alice", wrong, at(kNow)).verdict == TotpVerdict::Wrong);
    CHECK(store.verify("alice", wrong, at(kNow)).verdict == TotpVerdict::Wrong);
    TotpCheck third = store.verify("alice", wrong, at(kNow));
    CHECK(third.verdict == TotpVerdict::Wrong);
    CHECK(third.locked_until == at(kNow + 600));
    CHECK_THAT(third.detail, Catch::Contains("locked out until"));

    TotpCheck locked = store.verify("alice", code_at(secret, kNow + 300), at(kNow + 300));
    CHECK(locked.verdict == TotpVerdict::LockedOut);
    CHECK(locked.locked_until == at(kNow + 600));
    CHECK(store.status("alice")->failures == 3);

    CHECK(store.verify("alice", code_at(secret, kNow + 600), at(kNow + 600)).verdict == TotpVerdict::Accepted);
    CHECK(store.status("alice")->failures == 0);
}

TEST_CASE("TOTP accepted code resets the failure count; a replay counts as a failure", "[totp]") {
    TempStore t;
    TotpStore store(t.settings);
    Secret secret = enrol(store, "alice");
    std::string wrong = code_at(secret, kNow) == "000000" ? "111111" : "000000";
    REQUIRE(store.verify("alice", wrong, at(kNow)).verdict == TotpVerdict::Wrong);
    REQUIRE(store.verify("alice", wrong, at(kNow)).verdict == TotpVerdict::Wrong);
    REQUIRE(store.verify("alice", code_at(secret, kNow), at(kNow)).verdict == TotpVerdict::Accepted);
    CHECK(store.verify("alice", wrong, at(kNow)).verdict == TotpVerdict::Wrong);
    CHECK(store.verify("alice", code_at(secret, kNow), at(kNow)).verdict == TotpVerdict::Replayed);
    TotpCheck third = store.verify("alice", wrong, at(kNow));
    CHECK(third.verdict == TotpVerdict::Wrong);
    CHECK(third.locked_until == at(kNow + 600));
}

TEST_CASE("TOTP lockout_after = 0 never locks", "[totp]") {
    TempStore t;
    t.settings.lockout_after = 0;
    TotpStore store(t.settings);
    Secret secret = enrol(store, "alice");
    std::string wrong = code_at(secret, kNow) == "000000" ? "111111" : "000000";
    for (int i = 0; i < 10; ++i) REQUIRE(store.verify("alice", wrong, at(kNow)).verdict == TotpVerdict::Wrong);
    CHECK(store.verify("alice", code_at(secret, kNow), at(kNow)).verdict == TotpVerdict::Accepted);
}

TEST_CASE("TOTP state persists across store instances", "[totp]") {
    TempStore t;
    Secret secret = [&] {
        TotpStore first(t.settings);
        Secret s = enrol(first, "alice");
        REQUIRE(first.verify("alice", code_at(s, kNow), at(kNow)).verdict == TotpVerdict::Accepted);
        std::string wrong = code_at(s, kNow) == "000000" ? "111111" : "000000";
        REQUIRE(first.verify("alice", wrong, at(kNow)).verdict == TotpVerdict::Wrong);
        return s;
    }();
    TotpStore second(t.settings);
    CHECK(second.enrolled("alice"));
    CHECK(second.status("alice")->failures == 1);
    CHECK(second.status("alice")->last_step == static_cast<uint64_t>(kNow / 30));
    CHECK(second.verify("alice", code_at(secret, kNow), at(kNow)).verdict == TotpVerdict::Replayed);
}

TEST_CASE("TOTP remove forgets the user; removing an absent user is an error", "[totp]") {
    TempStore t;
    TotpStore store(t.settings);
    Secret secret = enrol(store, "alice");
    REQUIRE(store.remove("alice"));
    CHECK_FALSE(store.enrolled("alice"));
    CHECK_FALSE(std::filesystem::exists(t.file("alice")));
    CHECK(store.verify("alice", code_at(secret, kNow), at(kNow)).verdict == TotpVerdict::NotEnrolled);
    auto again = store.remove("alice");
    REQUIRE_FALSE(again);
    CHECK_THAT(again.error().message, Catch::Contains("not enrolled"));
}

TEST_CASE("TOTP verify of a user without a file, or without a store, is NotEnrolled", "[totp]") {
    TempStore t;
    TotpStore store(t.settings);
    CHECK(store.verify("alice", "123456", at(kNow)).verdict == TotpVerdict::NotEnrolled);
    CHECK_FALSE(std::filesystem::exists(t.settings.store_dir));  // checking does not create the store
    REQUIRE(store.enroll("bob", false));
    CHECK(store.verify("alice", "123456", at(kNow)).verdict == TotpVerdict::NotEnrolled);
    CHECK(store.status("alice")->enrolled == false);
}

TEST_CASE("TOTP corrupt, truncated or oversized record is a StoreError", "[totp]") {
    TempStore t;
    TotpStore store(t.settings);
    const std::string good_secret = "secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n";
    const std::string rest = "last_step=0\nfailures=0\nlocked_until=0\n";
    for (const std::string& text :
         {std::string(""), std::string("garbage"), good_secret + "last_step=0\nfailures=0\n",
          good_secret + rest + "extra=1\n", good_secret + good_secret + rest, "secret=!!!!\n" + rest,
          "secret=GEZDGNBV\n" + rest, good_secret + "last_step=-1\nfailures=0\nlocked_until=0\n",
          good_secret + "last_step=12x\nfailures=0\nlocked_until=0\n", good_secret + rest.substr(0, rest.size() - 1),
          good_secret + rest + std::string(5000, '#')}) {
        INFO("record: " << text.substr(0, 80));
        t.write("alice", text);
        TotpCheck c = store.verify("alice", code_at(Secret("12345678901234567890"), kNow), at(kNow));
        CHECK(c.verdict == TotpVerdict::StoreError);
        CHECK_THAT(c.detail, Catch::Contains(t.file("alice")));
        CHECK_THAT(c.detail, !Catch::Contains("GEZDGNBV"));
        CHECK_FALSE(store.status("alice"));
    }
    t.write("alice", good_secret + rest);
    CHECK(store.verify("alice", code_at(Secret("12345678901234567890"), kNow), at(kNow)).verdict ==
          TotpVerdict::Accepted);
}

TEST_CASE("TOTP store refuses a group- or other-writable directory", "[totp]") {
    TempStore t;
    TotpStore store(t.settings);
    Secret secret = enrol(store, "alice");
    for (mode_t mode : {0770, 0707, 0777}) {
        INFO("mode " << std::oct << mode);
        REQUIRE(::chmod(t.settings.store_dir.c_str(), mode) == 0);
        TotpCheck c = store.verify("alice", code_at(secret, kNow), at(kNow));
        CHECK(c.verdict == TotpVerdict::StoreError);
        CHECK_THAT(c.detail, Catch::Contains("must not be writable by group or others; run chmod 700"));
        CHECK_FALSE(store.enroll("bob", false));
        CHECK_FALSE(store.remove("alice"));
    }
    REQUIRE(::chmod(t.settings.store_dir.c_str(), 0755) == 0);  // readable is fine: the files are 0600
    CHECK(store.verify("alice", code_at(secret, kNow), at(kNow)).verdict == TotpVerdict::Accepted);
}

TEST_CASE("TOTP store refuses a directory owned by another user", "[totp]") {
    if (geteuid() != 0) return;  // only root can give a directory away
    TempStore t;
    TotpStore store(t.settings);
    enrol(store, "alice");
    REQUIRE(::chown(t.settings.store_dir.c_str(), 12345, 12345) == 0);
    TotpCheck c = store.verify("alice", "123456", at(kNow));
    CHECK(c.verdict == TotpVerdict::StoreError);
    CHECK_THAT(c.detail, Catch::Contains("owned by uid 12345"));
}

TEST_CASE("TOTP store refuses a symlinked directory or file, a FIFO and a loose file mode", "[totp]") {
    TempStore t;
    TotpStore store(t.settings);
    Secret secret = enrol(store, "alice");
    std::string code = code_at(secret, kNow);

    std::string elsewhere = (t.root / "elsewhere").string();
    REQUIRE(::rename(t.file("alice").c_str(), elsewhere.c_str()) == 0);
    REQUIRE(::symlink(elsewhere.c_str(), t.file("alice").c_str()) == 0);
    TotpCheck link = store.verify("alice", code, at(kNow));
    CHECK(link.verdict == TotpVerdict::StoreError);
    CHECK_THAT(link.detail, Catch::Contains("symbolic link"));
    CHECK_FALSE(store.enroll("alice", true));
    REQUIRE(::unlink(t.file("alice").c_str()) == 0);

    REQUIRE(::mkfifo(t.file("alice").c_str(), 0600) == 0);
    CHECK(store.verify("alice", code, at(kNow)).verdict == TotpVerdict::StoreError);  // and did not block
    REQUIRE(::unlink(t.file("alice").c_str()) == 0);

    REQUIRE(::rename(elsewhere.c_str(), t.file("alice").c_str()) == 0);
    REQUIRE(::chmod(t.file("alice").c_str(), 0640) == 0);
    CHECK_THAT(store.verify("alice", code, at(kNow)).detail, Catch::Contains("run chmod 600"));
    REQUIRE(::chmod(t.file("alice").c_str(), 0600) == 0);

    std::string real_dir = (t.root / "real").string(), linked_dir = (t.root / "linked").string();
    REQUIRE(::rename(t.settings.store_dir.c_str(), real_dir.c_str()) == 0);
    REQUIRE(::symlink(real_dir.c_str(), linked_dir.c_str()) == 0);
    TotpSettings via_link = t.settings;
    via_link.store_dir = linked_dir;
    TotpStore linked(via_link);
    CHECK(linked.verify("alice", code, at(kNow)).verdict == TotpVerdict::StoreError);
    CHECK_FALSE(linked.enroll("bob", false));
}

TEST_CASE("TOTP user names that could escape the store are refused", "[totp]") {
    TempStore t;
    TotpStore store(t.settings);
    for (const std::string& name : {std::string(""), std::string(".."), std::string("../alice"), std::string("a/b"),
                                    std::string(".hidden"), std::string("a b"), std::string("tab\t"),
                                    std::string("nul\0x", 5), std::string("caf\xc3\xa9"), std::string(65, 'a')}) {
        INFO("name \"" << name << "\"");
        CHECK_FALSE(vigil::valid_totp_user(name));
        CHECK_FALSE(store.enroll(name, true));
        CHECK_FALSE(store.remove(name));
        CHECK_FALSE(store.enrolled(name));
        CHECK_FALSE(store.status(name));
        CHECK(store.verify(name, "123456", at(kNow)).verdict == TotpVerdict::NotEnrolled);
    }
    CHECK(vigil::valid_totp_user(std::string(64, 'a')));
    CHECK(vigil::valid_totp_user("svc-deploy_01@corp"));
    CHECK_FALSE(std::filesystem::exists(t.root / "alice"));
    CHECK_FALSE(std::filesystem::exists(t.settings.store_dir));
}

TEST_CASE("TOTP concurrent checks of one code admit exactly one", "[totp]") {
    TempStore t;
    t.settings.lockout_after = 0;                    // seven replays in a row must not turn into LockedOut
    TotpStore store(t.settings), other(t.settings);  // a second instance stands in for another process
    Secret secret = enrol(store, "alice");
    std::string code = code_at(secret, kNow);
    std::atomic<int> accepted{0}, replayed{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i) {
        threads.emplace_back([&, i] {
            while (!go) std::this_thread::yield();
            TotpVerdict v = (i % 2 ? store : other).verify("alice", code, at(kNow)).verdict;
            if (v == TotpVerdict::Accepted) ++accepted;
            if (v == TotpVerdict::Replayed) ++replayed;
        });
    }
    go = true;
    for (auto& th : threads) th.join();
    CHECK(accepted == 1);
    CHECK(replayed == 7);
}
