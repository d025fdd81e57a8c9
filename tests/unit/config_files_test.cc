#include "config_files.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "config.h"

namespace fs = std::filesystem;

namespace {

// /tmp/vigil-conf-XXXXXX/vigil.toml and its vigil.toml.d, mode 0600 / 0755.
struct ConfDir {
    fs::path root;
    std::string main;
    fs::path dropins;
    ConfDir() {
        char tmpl[] = "/tmp/vigil-conf-XXXXXX";
        root = mkdtemp(tmpl);
        main = (root / "vigil.toml").string();
        dropins = root / "vigil.toml.d";
    }
    ~ConfDir() { fs::remove_all(root); }
    static void write(const fs::path& p, const std::string& text, mode_t mode = 0600) {
        std::ofstream(p, std::ios::trunc) << text;
        REQUIRE(::chmod(p.c_str(), mode) == 0);
    }
    void drop_in(const std::string& name, const std::string& text, mode_t mode = 0600) {
        fs::create_directories(dropins);
        REQUIRE(::chmod(dropins.c_str(), 0755) == 0);
        write(dropins / name, text, mode);
    }
};

const char* kMain = R"([pdp]
protocol = "local"
timeout = "800ms"

[[rule]]
name = "main: ops may ssh"
services = ["sshd"]
groups = ["ops"]
decision = "allow"
)";

std::string error_of(const std::string& path) {
    auto c = vigil::load_config(path);
    REQUIRE_FALSE(c);
    return c.error().message;
}

}  // namespace

TEST_CASE("drop-ins merge in lexical order: tables by key, rules appended", "[config]") {
    ConfDir d;
    ConfDir::write(d.main, kMain);
    d.drop_in("20-late.toml", "[pdp]\ntimeout = \"2s\"\n\n[[rule]]\nname = \"late\"\ndecision = \"deny\"\n");
    d.drop_in("10-early.toml",
              "[host]\nlabels = { env = \"prod\" }\n\n[[rule]]\nname = \"early\"\nservices = [\"sudo\"]\ndecision = "
              "\"deny\"\n");
    d.drop_in("README", "not toml at all [");
    d.drop_in(".hidden.toml", "not toml either [");
    d.drop_in("30-x.toml.dpkg-old", "[");
    auto c = vigil::load_config(d.main);
    INFO((c ? "" : c.error().message));
    REQUIRE(c);
    CHECK(c->pdp.timeout == std::chrono::seconds(2));
    REQUIRE(c->host.labels.size() == 1);
    CHECK(c->host.labels[0] == std::pair<std::string, std::string>("env", "prod"));
    REQUIRE(c->rules.size() == 3);
    CHECK(c->rules[0].name == "main: ops may ssh");
    CHECK(c->rules[1].name == "early");
    CHECK(c->rules[2].name == "late");
    REQUIRE(c->files.size() == 3);
    CHECK(c->files[1].ends_with("vigil.toml.d/10-early.toml"));
}

TEST_CASE("without drop-ins the version is the main file's sha256, with them it covers every file", "[config]") {
    ConfDir d;
    ConfDir::write(d.main, kMain);
    auto alone = vigil::load_config(d.main);
    REQUIRE(alone);
    CHECK(alone->version == vigil::parse_config(kMain, d.main)->version);
    d.drop_in("10-a.toml", "[[rule]]\nname = \"a\"\ndecision = \"deny\"\n");
    auto with = vigil::load_config(d.main);
    REQUIRE(with);
    CHECK(with->version != alone->version);
    d.drop_in("10-a.toml", "[[rule]]\nname = \"b\"\ndecision = \"deny\"\n");
    auto changed = vigil::load_config(d.main);
    REQUIRE(changed);
    CHECK(changed->version != with->version);
}

TEST_CASE("a drop-in's errors name the drop-in and its line", "[config]") {
    ConfDir d;
    ConfDir::write(d.main, kMain);
    d.drop_in("50-bad.toml", "\n\n[[rule]]\nname = \"x\"\ndecision = \"maybe\"\n");
    CHECK_THAT(error_of(d.main), Catch::Contains("vigil.toml.d/50-bad.toml:5:"));
    d.drop_in("50-bad.toml", "[pdp]\ntimeout = [\n");
    CHECK_THAT(error_of(d.main), Catch::Contains("vigil.toml.d/50-bad.toml:"));
    d.drop_in("50-bad.toml", "pdp = \"cerbos\"\n");
    CHECK_THAT(error_of(d.main), Catch::Contains("\"pdp\" was a table"));
}

TEST_CASE("StrictModes holds for drop-ins and their directory", "[config]") {
    ConfDir d;
    ConfDir::write(d.main, kMain);
    d.drop_in("10-a.toml", "[[rule]]\nname = \"a\"\ndecision = \"deny\"\n", 0620);
    CHECK_THAT(error_of(d.main), Catch::Contains("10-a.toml: writable by group or others"));
    ConfDir::write(d.dropins / "10-a.toml", "[[rule]]\nname = \"a\"\ndecision = \"deny\"\n", 0644);
    REQUIRE(vigil::load_config(d.main));
    REQUIRE(::chmod(d.dropins.c_str(), 0775) == 0);
    CHECK_THAT(error_of(d.main), Catch::Contains("vigil.toml.d: writable by group or others"));
    REQUIRE(::chmod(d.dropins.c_str(), 0755) == 0);
    // A symlink is followed, and the file it leads to is what is checked.
    ConfDir::write(d.root / "elsewhere.toml", "[[rule]]\nname = \"b\"\ndecision = \"deny\"\n", 0666);
    fs::create_symlink(d.root / "elsewhere.toml", d.dropins / "20-link.toml");
    CHECK_THAT(error_of(d.main), Catch::Contains("20-link.toml: writable by group or others"));
}
