// Random identifiers for decisions: 128 bits from getrandom, as hex.
#ifndef VIGIL_POLICY_REQUEST_ID_H
#define VIGIL_POLICY_REQUEST_ID_H

#include <string>

namespace vigil {

std::string new_request_id();

}  // namespace vigil

#endif
