#include "decision.h"

namespace vigil {

const char* to_string(Outcome o) { return o == Outcome::Allow ? "allow" : "deny"; }

}  // namespace vigil
