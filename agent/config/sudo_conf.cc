#include "sudo_conf.h"

#include <fmt/format.h>
#include <strings.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "command_pattern.h"

namespace vigil {
namespace {

// sudo reads the directive's name without regard to case; the symbol and
// the path exactly.
bool loads_vigil(std::string_view line, std::string* path) {
    std::vector<std::string> w = command_words(line);
    if (w.size() < 3 || strcasecmp(w[0].c_str(), "Plugin") != 0 || w[1] != kSudoPluginSymbol) return false;
    if (path) *path = w[2][0] == '/' ? w[2] : kSudoPluginDir + w[2];
    return true;
}

// conf's lines, without their '\n'; a last line without one counts.
std::vector<std::string_view> lines(std::string_view conf) {
    std::vector<std::string_view> out;
    size_t start = 0;
    while (start < conf.size()) {
        size_t nl = conf.find('\n', start);
        if (nl == std::string_view::npos) nl = conf.size();
        out.push_back(conf.substr(start, nl - start));
        start = nl + 1;
    }
    return out;
}

std::string joined(const std::vector<std::string_view>& ls) {
    std::string out;
    for (std::string_view l : ls) {
        out += l;
        out += '\n';
    }
    return out;
}

}  // namespace

std::vector<SudoConfPlugin> vigil_plugin_lines(std::string_view conf) {
    std::vector<SudoConfPlugin> out;
    auto ls = lines(conf);
    for (size_t i = 0; i < ls.size(); ++i) {
        SudoConfPlugin p;
        if (!loads_vigil(ls[i], &p.path)) continue;
        p.line = i + 1;
        p.text = ls[i];
        out.push_back(std::move(p));
    }
    return out;
}

std::string with_vigil_plugin(std::string_view conf, std::string_view line) {
    std::vector<std::string_view> out;
    bool placed = false;
    for (std::string_view l : lines(conf)) {
        if (!loads_vigil(l, nullptr)) {
            out.push_back(l);
        } else if (!placed) {
            out.push_back(line);
            placed = true;
        }
    }
    if (!placed) out.push_back(line);
    return joined(out);
}

std::string without_vigil_plugin(std::string_view conf) {
    std::vector<std::string_view> out;
    for (std::string_view l : lines(conf)) {
        if (!loads_vigil(l, nullptr)) out.push_back(l);
    }
    return joined(out);
}

std::string sudo_plugin_file_problem(const std::string& path) {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) return fmt::format("{} does not exist", path);
    if (!S_ISREG(st.st_mode)) return fmt::format("{} is not a regular file", path);
    if (st.st_uid != 0) return fmt::format("{} is not owned by root: sudo refuses it", path);
    if (st.st_mode & (S_IWGRP | S_IWOTH))
        return fmt::format("{} may be written by others than root: sudo refuses it", path);
    return "";
}

SudoConfCheck check_sudo_conf(const std::string& path) {
    SudoConfCheck c;
    std::ifstream in(path);
    if (!in) {
        c.problem = fmt::format("{} cannot be read: sudo loads no plugin of vigil's", path);
        return c;
    }
    struct stat st {};
    if (stat(path.c_str(), &st) == 0 && (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)))) {
        c.problem = fmt::format("{} is not root's alone (owner or mode): sudo ignores it, plugin and all", path);
        return c;
    }
    std::ostringstream text;
    text << in.rdbuf();
    auto found = vigil_plugin_lines(text.str());
    if (found.empty()) {
        c.problem = fmt::format("{} has no \"Plugin {}\" line", path, kSudoPluginSymbol);
        return c;
    }
    c.plugin = found.front().path;  // sudo ignores a second line with the same symbol
    c.problem = sudo_plugin_file_problem(c.plugin);
    if (!c.problem.empty()) c.problem += ", and sudo, told to load it, refuses every command";
    c.loads = c.problem.empty();
    return c;
}

}  // namespace vigil
