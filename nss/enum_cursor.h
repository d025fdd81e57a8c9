// Where a setgrent/getgrent_r/endgrent (or pwent) walk has got to: the only
// state the module keeps between calls. It is an index, not an open file or
// a copy of the table, so nothing leaks when a program never calls endgrent;
// each getgrent_r reads the table afresh and takes the entry at the index.
// glibc serialises a database's enumeration calls already; the mutex keeps
// the cursor sound for any other caller.
//
//   constinit EnumCursor cursor;  // constant-initialised: no constructor runs at dlopen()
//   return cursor.next([&](size_t i) { return group_at(source, i, ...); });
#ifndef VIGIL_NSS_ENUM_CURSOR_H
#define VIGIL_NSS_ENUM_CURSOR_H

#include <nss.h>
#include <pthread.h>

#include <cstddef>

namespace vigil::nss {

class EnumCursor {
public:
    // fetch(index) fills the entry at index; the cursor moves on only after
    // a success, so an ERANGE retry with a larger buffer gets the same entry.
    template <class Fetch>
    nss_status next(Fetch fetch) {
        pthread_mutex_lock(&mutex_);
        nss_status s = fetch(index_);
        if (s == NSS_STATUS_SUCCESS) ++index_;
        pthread_mutex_unlock(&mutex_);
        return s;
    }

    void rewind() {
        pthread_mutex_lock(&mutex_);
        index_ = 0;
        pthread_mutex_unlock(&mutex_);
    }

private:
    pthread_mutex_t mutex_ = PTHREAD_MUTEX_INITIALIZER;
    size_t index_ = 0;
};

}  // namespace vigil::nss

#endif
