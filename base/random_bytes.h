// Bytes from the kernel's CSPRNG (getrandom(2), blocking until it is
// seeded), for request ids and TOTP secrets: the one loop over getrandom's
// short counts and EINTR.
//
//   unsigned char id[16];
//   if (!random_bytes(id, sizeof id)) fail(std::strerror(errno));
#ifndef VIGIL_BASE_RANDOM_BYTES_H
#define VIGIL_BASE_RANDOM_BYTES_H

#include <cstddef>

namespace vigil {

// Fills buf with n random bytes; false with errno set when the kernel would not.
bool random_bytes(void* buf, size_t n);

}  // namespace vigil

#endif
