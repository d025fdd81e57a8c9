// std::source_location, or a stand-in where the compiler cannot provide it.
// libstdc++ 12's <source_location> needs __builtin_source_location, which
// GCC 12 has and Debian 12's clang 14 does not; the fuzz build (make fuzz)
// compiles the agent with that clang. The stand-in records the same three
// facts through the builtins clang 14 does have.
//
//   void log(std::string_view text, const SourceLocation& where = SourceLocation::current());
#ifndef VIGIL_BASE_SOURCE_LOCATION_H
#define VIGIL_BASE_SOURCE_LOCATION_H

#include <source_location>

namespace vigil {

#if defined(__cpp_lib_source_location)
using SourceLocation = std::source_location;
#else
class SourceLocation {
public:
    static constexpr SourceLocation current(const char* file = __builtin_FILE(),
                                            const char* function = __builtin_FUNCTION(),
                                            unsigned line = __builtin_LINE()) noexcept {
        SourceLocation s;
        s.file_ = file;
        s.function_ = function;
        s.line_ = line;
        return s;
    }
    constexpr const char* file_name() const noexcept { return file_; }
    constexpr const char* function_name() const noexcept { return function_; }
    constexpr unsigned line() const noexcept { return line_; }

private:
    const char* file_ = "";
    const char* function_ = "";
    unsigned line_ = 0;
};
#endif

}  // namespace vigil

#endif
