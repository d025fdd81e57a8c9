#include "decision.h"

namespace vigil {

const char* to_string(Outcome o) {
    switch (o) {
        case Outcome::Allow: return "allow";
        case Outcome::Deny: return "deny";
        case Outcome::StepUp: return "step_up";
    }
    return "deny";
}

}  // namespace vigil
