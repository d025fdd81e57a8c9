// The break-glass uses pam_vigil.so recorded while vigild could not be
// reached (pam_module/break_glass.h): one frame (Kind::BreakGlass) per file
// in <state_dir>/breakglass, moved into the trail when vigild runs again.
//
//   make_break_glass_dir(state_dir);                // at start: root's, 0700
//   for (auto& u : take_break_glass_uses(dir, problems)) ... // then unlink(u.file)
//
// A file that is not such a frame is reported (problems) and removed: the
// directory is root's alone, so only a bug or a crash mid-write leaves one.
#ifndef VIGIL_TRAIL_BREAK_GLASS_SPOOL_H
#define VIGIL_TRAIL_BREAK_GLASS_SPOOL_H

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "result.h"

namespace vigil {

struct BreakGlassUse {
    std::chrono::system_clock::time_point at;  // when the module let the user through
    std::string phase, user, service, rhost, tty, group;
    std::string why;   // why vigild could not be asked ("agent unreachable")
    int64_t pid = 0;   // the sshd or sudo process
    std::string file;  // the spool file it came from
};

// <state_dir>/breakglass, pam_vigil's default breakglass_dir.
inline constexpr const char* kBreakGlassDirName = "breakglass";

// Creates <state_dir>/breakglass root-owned, mode 0700 (or makes it so),
// following no symbolic link. Call once state_dir itself was checked.
Status make_break_glass_dir(const std::string& state_dir);

// One spooled frame's bytes.
Result<BreakGlassUse> parse_break_glass(const std::vector<uint8_t>& bytes);

// Every use in dir, oldest first, not yet removed: the caller unlinks each
// file once the trail has it. Unreadable files are removed, with a line in
// problems each.
std::vector<BreakGlassUse> take_break_glass_uses(const std::string& dir, std::vector<std::string>& problems);

// The trail's record of a use (event "break_glass").
nlohmann::ordered_json to_json(const BreakGlassUse& u);

}  // namespace vigil

#endif
