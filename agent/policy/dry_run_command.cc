#include "dry_run_command.h"

#include <fmt/format.h>
#include <pwd.h>
#include <unistd.h>

#include "command_pattern.h"

namespace vigil {
namespace {

// The program as sudo would run it: a name with a slash as is, any other
// the first executable of that name on kSudoSecurePath.
Result<std::string> find_program(const std::string& name) {
    if (name.find('/') != std::string::npos) {
        if (name[0] != '/') return err(fmt::format("command \"{}\": give an absolute path or a bare name", name));
        return name;
    }
    std::string_view dirs = kSudoSecurePath;
    while (!dirs.empty()) {
        size_t colon = dirs.find(':');
        std::string candidate = std::string(dirs.substr(0, colon)) + "/" + name;
        if (access(candidate.c_str(), X_OK) == 0) return candidate;
        dirs = colon == std::string_view::npos ? std::string_view() : dirs.substr(colon + 1);
    }
    return err(fmt::format("command \"{}\" not found in {}", name, kSudoSecurePath));
}

Status set_runas(SudoCommand& c, const std::string& runas) {
    c.runas_user = runas.empty() ? "root" : runas;
    struct passwd pw {};
    struct passwd* found = nullptr;
    char buf[4096];
    if (getpwnam_r(c.runas_user.c_str(), &pw, buf, sizeof buf, &found) != 0 || found == nullptr) {
        return err(fmt::format("run-as user \"{}\" is not known to NSS", c.runas_user));
    }
    c.runas_uid = found->pw_uid;
    c.runas_gid = found->pw_gid;
    return Ok{};
}

}  // namespace

Status add_dry_run_command(Request& q, std::string_view command, const std::string& runas, const std::string& cwd) {
    std::vector<std::string> words = command_words(command);
    if (words.empty()) return err("the command is empty");
    SudoCommand c;
    c.cwd = cwd;
    if (words[0] == "sudoedit") {
        if (words.size() < 2) return err("sudoedit needs the files it edits");
        for (size_t i = 1; i < words.size(); ++i) {
            if (words[i][0] != '/' && cwd.empty()) return err("sudoedit of a relative file needs a working directory");
        }
        // As sudo gives it: the editor, "--", the files; the editor runs as
        // the user and is not what is decided.
        c.path = "sudoedit";
        c.sudoedit_files = words.size() - 1;
        words.insert(words.begin() + 1, "--");
    } else {
        auto path = find_program(words[0]);
        if (!path) return path.error();
        c.path = *path;
        c.resolved = resolved_path(c.path);
    }
    if (auto s = set_runas(c, runas); !s) return s;
    // The plugin asks as service "sudo" whatever PAM service sudo uses
    // (sudo-i for sudo -i): so does the dry run, meeting the same rules.
    q.service = "sudo";
    q.command = std::move(words);
    q.sudo = std::move(c);
    return Ok{};
}

}  // namespace vigil
