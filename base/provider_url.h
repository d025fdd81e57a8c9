// The URL rule for an identity provider's issuer and every endpoint it
// names: https://, or http:// to 127.0.0.1, [::1] or localhost exactly (the
// tests' provider); no user name in the URL ("https://id.example.com@evil"
// hides the real host from a reader), no spaces or control characters.
// Checked by config.cc when the file loads and by the device flow
// (device_flow.h) for what discovery returns.
//
//   if (Status st = check_provider_url(issuer, "step_up.device.issuer"); !st) fail(...);
#ifndef VIGIL_BASE_PROVIDER_URL_H
#define VIGIL_BASE_PROVIDER_URL_H

#include <string_view>

#include "result.h"

namespace vigil {

Status check_provider_url(std::string_view url, std::string_view what);

}  // namespace vigil

#endif
