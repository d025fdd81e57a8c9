#include "command_pattern.h"

#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <cstdlib>

namespace vigil {

std::vector<std::string> command_words(std::string_view text) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
        size_t start = i;
        while (i < text.size() && text[i] != ' ' && text[i] != '\t') ++i;
        if (i > start) out.emplace_back(text.substr(start, i - start));
    }
    return out;
}

std::string resolved_path(const std::string& path) {
    if (path.empty() || path[0] != '/') return path;
    char buf[PATH_MAX];
    if (realpath(path.c_str(), buf) == nullptr) return path;
    return buf;
}

Result<CommandPattern> parse_command_pattern(std::string_view text) {
    CommandPattern p;
    p.text = text;
    std::vector<std::string> w = command_words(text);
    if (w.empty()) return err("a command is empty");
    p.path = w[0];
    p.sudoedit = p.path == "sudoedit";
    if (!p.sudoedit && p.path[0] != '/')
        return err(fmt::format("command \"{}\": the program needs an absolute path, or is sudoedit", text));
    if (p.path.find('*') != std::string::npos)
        return err(fmt::format("command \"{}\": no wildcards in the program's path", text));
    p.resolved = p.sudoedit ? p.path : resolved_path(p.path);
    w.erase(w.begin());
    if (w.empty()) return p;  // any arguments
    if (w.size() == 1 && w[0] == "\"\"") {
        p.args = CommandPattern::Args::Exact;  // none at all
        return p;
    }
    for (size_t i = 0; i < w.size(); ++i) {
        if (w[i] == "\"\"") return err(fmt::format("command \"{}\": \"\" stands alone, for no arguments", text));
        if (w[i].find('*') == std::string::npos) continue;
        if (w[i] != "*" || i + 1 != w.size())
            return err(fmt::format("command \"{}\": '*' only as the last word, for any further arguments", text));
    }
    p.args = w.back() == "*" ? CommandPattern::Args::Prefix : CommandPattern::Args::Exact;
    if (p.args == CommandPattern::Args::Prefix) w.pop_back();
    for (const std::string& f : w) {
        if (p.sudoedit && f[0] != '/') return err(fmt::format("command \"{}\": sudoedit names absolute files", text));
    }
    p.argv = std::move(w);
    return p;
}

std::vector<std::string> sudoedit_files(const std::vector<std::string>& argv, size_t n, const std::string& cwd) {
    std::vector<std::string> files;
    if (n >= argv.size()) return files;
    for (auto it = argv.end() - static_cast<std::ptrdiff_t>(n); it != argv.end(); ++it) {
        std::string f = *it;
        // A relative file with no directory known stays relative: it
        // matches no pattern, whose files are absolute.
        if (!f.empty() && f[0] != '/' && !cwd.empty()) f = (cwd.back() != '/' ? cwd + "/" : cwd) + f;
        files.push_back(std::move(f));
    }
    return files;
}

bool command_matches(const CommandPattern& p, const AskedCommand& c) {
    if (p.sudoedit != c.sudoedit) return false;
    const std::string &path = c.path, &resolved = c.resolved;
    const std::vector<std::string>& args = c.args;
    bool same = p.sudoedit || path == p.path || resolved == p.path || path == p.resolved || resolved == p.resolved;
    if (!same) return false;
    switch (p.args) {
        case CommandPattern::Args::Any: return true;
        case CommandPattern::Args::Exact: return args == p.argv;
        case CommandPattern::Args::Prefix:
            return args.size() >= p.argv.size() && std::equal(p.argv.begin(), p.argv.end(), args.begin());
    }
    return false;
}

}  // namespace vigil
