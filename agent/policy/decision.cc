#include "decision.h"

#include "protocol.h"

namespace vigil {

const char* to_string(Outcome o) {
    switch (o) {
        case Outcome::Allow: return wire::kOutcomeAllow.data();
        case Outcome::Deny: return wire::kOutcomeDeny.data();
        case Outcome::StepUp: return wire::kOutcomeStepUp.data();
    }
    return wire::kOutcomeDeny.data();
}

}  // namespace vigil
