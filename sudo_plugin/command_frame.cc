#include "command_frame.h"

#include <cstring>

namespace vigil::sudo {
namespace {

// run_argv joined with NULs, as the PAM module sends sudo's command line;
// cut at the buffer's end.
size_t join_argv(char* const argv[], char (&out)[kMaxArgvBytes], bool& truncated) {
    size_t n = 0;
    truncated = false;
    for (size_t i = 0; argv[i] != nullptr; ++i) {
        if (i > 0) {
            if (n == sizeof out) return truncated = true, n;
            out[n++] = '\0';
        }
        for (const char* p = argv[i]; *p != '\0'; ++p) {
            if (n == sizeof out) return truncated = true, n;
            out[n++] = *p;
        }
    }
    return n;
}

void put_if(wire::Writer& w, wire::Tag tag, const char* value) {
    if (value != nullptr) w.put(tag, value);
}

}  // namespace

const char* find_value(char* const vec[], const char* name) {
    if (vec == nullptr) return nullptr;
    size_t n = std::strlen(name);
    for (size_t i = 0; vec[i] != nullptr; ++i) {
        if (std::strncmp(vec[i], name, n) == 0 && vec[i][n] == '=') return vec[i] + n + 1;
    }
    return nullptr;
}

CommandFrame build_command_frame(const CommandFacts& f, char (&argv)[kMaxArgvBytes], uint8_t (&buf)[wire::kMaxFrame]) {
    const char* user = find_value(f.user_info, "user");
    const char* command = find_value(f.command_info, "command");
    if (user == nullptr || *user == '\0') return {0, "sudo did not name the invoking user"};
    if (command == nullptr || *command != '/') return {0, "sudo did not give the command's full path"};
    if (f.run_argv == nullptr || f.run_argv[0] == nullptr) return {0, "sudo gave no argv"};

    wire::Writer w(buf, sizeof buf);
    w.put(wire::Tag::Service, "sudo");
    w.put(wire::Tag::User, user);
    w.put(wire::Tag::Ruser, user);
    put_if(w, wire::Tag::Tty, find_value(f.user_info, "tty"));
    w.put_u64(wire::Tag::Pid, static_cast<uint64_t>(f.pid));
    w.put_u64(wire::Tag::Ppid, static_cast<uint64_t>(f.ppid));
    w.put(wire::Tag::CommandPath, command);
    bool truncated = false;
    size_t n = join_argv(f.run_argv, argv, truncated);
    w.put(wire::Tag::Command, std::string_view(argv, n));
    if (truncated) w.put(wire::Tag::ArgvTruncated, "1");
    put_if(w, wire::Tag::RunasUser, find_value(f.command_info, "runas_user"));
    put_if(w, wire::Tag::RunasUid, find_value(f.command_info, "runas_uid"));
    put_if(w, wire::Tag::RunasGroup, find_value(f.command_info, "runas_group"));
    put_if(w, wire::Tag::RunasGid, find_value(f.command_info, "runas_gid"));
    // sudoers' runcwd, else where the user stood (intercepted children:
    // "runcwd", undocumented, in sudo 1.9.13).
    const char* cwd = find_value(f.command_info, "cwd");
    if (cwd == nullptr) cwd = find_value(f.command_info, "runcwd");
    if (cwd == nullptr) cwd = find_value(f.user_info, "cwd");
    // Intercept says "unknown" where it cannot tell: no directory is sent
    // then, rather than a word taken for one (or the user's first cwd).
    if (cwd != nullptr && cwd[0] != '/') cwd = nullptr;
    put_if(w, wire::Tag::Cwd, cwd);
    // sudoedit: its files are the last sudoedit_nfiles arguments. The
    // editor's own arguments before them come from the user's SUDO_EDITOR,
    // so they, and any "--" among them, cannot say where the files begin.
    const char* sudoedit = find_value(f.command_info, "sudoedit");
    if (sudoedit != nullptr && std::strcmp(sudoedit, "true") == 0) {
        const char* nfiles = find_value(f.command_info, "sudoedit_nfiles");
        if (nfiles == nullptr || *nfiles == '\0') return {0, "sudo did not say how many files sudoedit edits"};
        w.put(wire::Tag::Sudoedit, nfiles);
    }
    w.put_u64(wire::Tag::BudgetMs, static_cast<uint64_t>(f.budget_ms));
    if (f.asked_at_ms > 0) w.put_u64(wire::Tag::AskedAtMs, static_cast<uint64_t>(f.asked_at_ms));
    size_t len = w.finish(wire::Kind::SudoCommand);
    if (len == 0) return {0, "the request does not fit in one frame"};
    return {len, nullptr};
}

}  // namespace vigil::sudo
