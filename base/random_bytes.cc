#include "random_bytes.h"

#include <errno.h>
#include <sys/random.h>
#include <sys/types.h>

namespace vigil {

bool random_bytes(void* buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t k = ::getrandom(static_cast<char*>(buf) + got, n - got, 0);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return false;
        got += static_cast<size_t>(k);
    }
    return true;
}

}  // namespace vigil
