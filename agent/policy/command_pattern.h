// One entry of a rule's `commands`, in sudoers' spirit:
//
//   "/usr/bin/systemctl"                 the program, with any arguments
//   "/usr/bin/systemctl restart nginx"   exactly these arguments
//   "/usr/bin/systemctl status *"        these first, then any (or none)
//   "/usr/bin/id \"\""                   no arguments at all
//   "sudoedit /etc/hosts"                sudoedit of exactly these files
//   "sudoedit"                           sudoedit of any files
//
// Words are split at spaces and tabs (an argument holding a space cannot be
// named). The path is compared with the command sudo resolved, each side
// also as its symlinks resolve, so /bin/bash and /usr/bin/bash are one
// program on a merged-/usr system. argv[0] is never compared: sudo -i runs
// "-bash". sudoedit is decided on the files it edits (absolute, or taken
// from the working directory), never on the editor, which runs as the
// user: a sudoedit pattern matches only sudoedit, and nothing else does.
#ifndef VIGIL_POLICY_COMMAND_PATTERN_H
#define VIGIL_POLICY_COMMAND_PATTERN_H

#include <string>
#include <string_view>
#include <vector>

#include "result.h"

namespace vigil {

struct CommandPattern {
    enum class Args { Any, Exact, Prefix };
    std::string text;       // as written, for explanations
    bool sudoedit = false;  // "sudoedit ...": argv are the files edited
    std::string path;       // absolute, as written; "sudoedit" for sudoedit
    std::string resolved;   // path with its symlinks resolved when it exists; else path
    Args args = Args::Any;
    std::vector<std::string> argv;  // Exact: every argument; Prefix: those before the '*'
};

Result<CommandPattern> parse_command_pattern(std::string_view text);

// text's words, split at spaces and tabs (as a pattern's are).
std::vector<std::string> command_words(std::string_view text);

// What is asked about: the command as sudo resolved it, that with its
// symlinks resolved (resolved_path), run_argv without argv[0]; for
// sudoedit, the files (sudoedit_files), made absolute from cwd.
struct AskedCommand {
    std::string path;
    std::string resolved;
    std::vector<std::string> args;
    bool sudoedit = false;
};

bool command_matches(const CommandPattern& p, const AskedCommand& c);

// The files sudoedit edits: the last n entries of its run_argv ("editor
// args -- files"; the user's SUDO_EDITOR chooses the args, "--" included),
// each absolute (a relative one from cwd; left relative when cwd is unknown).
std::vector<std::string> sudoedit_files(const std::vector<std::string>& argv, size_t n, const std::string& cwd);

// path with every symlink resolved (realpath), or path itself when it
// cannot be (gone, not absolute).
std::string resolved_path(const std::string& path);

}  // namespace vigil

#endif
