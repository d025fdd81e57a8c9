// Which files a configuration is read from, and how they become one: the
// main file (/etc/vigil/vigil.toml), then the drop-ins beside it in
// <main>.d/*.toml, in lexical (byte) order of their names, so that fleet
// tooling can add a host's or a role's part without editing the main file.
//
// Merge rules (man vigil.toml(5), DROP-INS):
//   - tables merge key by key, at any depth;
//   - a key a later file sets replaces the earlier value, lists included
//     (urls, services, require...);
//   - arrays of tables ([[rule]], [[grants.group]], [[grants.account]],
//     [[posture.socket]]...) are appended: the main file's rules first, then
//     each drop-in's in file order, and the first match still wins;
//   - a value cannot change kind (a table into a string): that is an error.
//
// Every file is held to StrictModes (a regular file owned by root or by the
// user running vigild, writable by no one else), and so is the directory:
// whoever can add a file there decides who gets in. Names starting with "."
// and names not ending in ".toml" (editor backups, .dpkg-old) are skipped.
//
//   auto files = read_config_files("/etc/vigil/vigil.toml");
//   if (!files) return files.error();    // "/etc/vigil/vigil.toml.d/50-x.toml: writable by group..."
#ifndef VIGIL_BASE_CONFIG_FILES_H
#define VIGIL_BASE_CONFIG_FILES_H

#include <toml++/toml.h>

#include <string>
#include <vector>

#include "result.h"

namespace vigil {

struct ConfigFile {
    std::string path;
    std::string text;
};

// One file, under StrictModes.
Result<std::string> read_config_file(const std::string& path);

// path, then path + ".d"/*.toml in lexical order (no directory: none).
Result<std::vector<ConfigFile>> read_config_files(const std::string& path);

// Merges from into into by the rules above; an error names the key and the
// file that tried to change its kind.
Status merge_config_table(toml::table& into, toml::table&& from);

}  // namespace vigil

#endif
