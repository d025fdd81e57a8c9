#include "config_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "fd_io.h"
#include "unique_fd.h"

namespace vigil {
namespace {

constexpr size_t kMaxConfigBytes = 1024 * 1024;
constexpr size_t kMaxDropIns = 256;

// StrictModes for anything config is read from: owner and write bits.
Status strict_modes(const std::string& path, const struct stat& st, const char* what) {
    if (st.st_uid != 0 && st.st_uid != geteuid()) {
        return err(fmt::format("{}: owned by uid {}; {} must be owned by root", path, st.st_uid, what));
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        return err(
            fmt::format("{}: writable by group or others (mode {:04o}); run chmod go-w", path, st.st_mode & 07777));
    }
    return Ok{};
}

bool is_drop_in_name(const std::string& name) {
    return !name.empty() && name[0] != '.' && name.size() > 5 && name.ends_with(".toml");
}

// The drop-in names in dir, sorted; none when dir does not exist.
Result<std::vector<std::string>> drop_in_names(const std::string& dir) {
    struct stat st {};
    if (::lstat(dir.c_str(), &st) != 0) {
        if (errno == ENOENT) return std::vector<std::string>{};
        return err(fmt::format("{}: cannot stat: {}", dir, std::strerror(errno)));
    }
    if (!S_ISDIR(st.st_mode)) return err(fmt::format("{}: not a directory", dir));
    if (auto s = strict_modes(dir, st, "the drop-in directory"); !s) return s.error();
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return err(fmt::format("{}: cannot open: {}", dir, std::strerror(errno)));
    std::vector<std::string> names;
    while (struct dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (is_drop_in_name(name)) names.push_back(name);
    }
    ::closedir(d);
    if (names.size() > kMaxDropIns) return err(fmt::format("{}: more than {} drop-ins", dir, kMaxDropIns));
    std::sort(names.begin(), names.end());
    return names;
}

const char* kind(const toml::node& n) {
    switch (n.type()) {
        case toml::node_type::table: return "table";
        case toml::node_type::array: return "list";
        case toml::node_type::string: return "string";
        case toml::node_type::integer: return "integer";
        case toml::node_type::floating_point: return "number";
        case toml::node_type::boolean: return "boolean";
        default: return "date or time";
    }
}

std::string where(const toml::node& n) {
    const auto& src = n.source();
    return fmt::format("{}:{}", src.path ? *src.path : std::string("?"), src.begin.line);
}

}  // namespace

Result<std::string> read_config_file(const std::string& path) {
    // Symbolic links are followed (configuration management often links
    // files into place); the checks are on the file actually opened.
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (!fd) return err(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
    struct stat st {};
    if (fstat(fd.get(), &st) != 0) return err(fmt::format("{}: cannot stat: {}", path, std::strerror(errno)));
    if (!S_ISREG(st.st_mode)) return err(fmt::format("{}: not a regular file", path));
    if (auto s = strict_modes(path, st, "it"); !s) return s.error();
    if (st.st_size > static_cast<off_t>(kMaxConfigBytes)) {
        return err(fmt::format("{}: larger than {} bytes", path, kMaxConfigBytes));
    }
    std::string text(static_cast<size_t>(st.st_size), '\0');
    if (wire::read_full(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
        return err(fmt::format("{}: read failed", path));
    }
    return text;
}

Result<std::vector<ConfigFile>> read_config_files(const std::string& path) {
    std::vector<ConfigFile> files;
    auto main = read_config_file(path);
    if (!main) return main.error();
    files.push_back({path, std::move(*main)});
    std::string dir = path + ".d";
    auto names = drop_in_names(dir);
    if (!names) return names.error();
    for (const std::string& name : *names) {
        std::string p = dir + "/" + name;
        auto text = read_config_file(p);
        if (!text) return text.error();
        files.push_back({p, std::move(*text)});
    }
    return files;
}

// Nodes are moved, never copied: toml++ keeps a node's file and line only
// through a move, and errors must name the drop-in a line came from.
Status merge_config_table(toml::table& into, toml::table&& from) {
    for (auto&& entry : from) {
        // Named references, not a structured binding: clang 14 (the fuzz
        // build) cannot capture a binding in the lambdas below.
        const toml::key& key = entry.first;
        toml::node& value = entry.second;
        toml::node* have = into.get(key.str());
        if (have == nullptr) {
            value.visit([&](auto&& v) { into.insert_or_assign(key, std::move(v)); });
            continue;
        }
        if (have->type() != value.type()) {
            return err(fmt::format("{}: \"{}\" was a {} ({}), cannot become a {}", where(value), key.str(), kind(*have),
                                   where(*have), kind(value)));
        }
        if (auto* t = have->as_table()) {
            if (auto s = merge_config_table(*t, std::move(*value.as_table())); !s) return s;
            continue;
        }
        auto* arr = have->as_array();
        if (arr != nullptr && arr->is_array_of_tables() && value.as_array()->is_array_of_tables()) {
            for (auto&& item : *value.as_array()) arr->push_back(std::move(*item.as_table()));
            continue;
        }
        value.visit([&](auto&& v) { into.insert_or_assign(key, std::move(v)); });
    }
    return Ok{};
}

}  // namespace vigil
