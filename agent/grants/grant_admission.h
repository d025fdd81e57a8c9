// How many grant-socket connections vigild holds at once. The grant socket
// is open to every local user, and each connection in hand holds a worker
// until it is answered or its read times out: the caps (in all, and per
// requesting uid) keep anyone from starving sshd and sudo of workers by
// opening connections and sending nothing. Refusals are logged at the 1st,
// 2nd, 4th, 8th... one: visible, never a flood. Thread-safe.
//
//   GrantAdmission admission;                  // 4 in all, 2 per uid
//   if (!admission.admit(peer.uid, peer.pid)) close(conn);
//   ...answer...
//   admission.release(peer.uid);
#ifndef VIGIL_GRANTS_GRANT_ADMISSION_H
#define VIGIL_GRANTS_GRANT_ADMISSION_H

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <mutex>

namespace vigil {

class GrantAdmission {
public:
    // A grant request is rare and quick; these bound what a peer that
    // connects and waits out the read timeout can take.
    static constexpr int kMaxInHand = 4;
    static constexpr int kMaxPerUid = 2;

    explicit GrantAdmission(int max_in_hand = kMaxInHand, int max_per_uid = kMaxPerUid)
        : max_in_hand_(max_in_hand), max_per_uid_(max_per_uid) {}

    // true: the connection is in hand until release(uid). pid is for the log.
    bool admit(uid_t uid, pid_t pid);
    void release(uid_t uid);

    int in_hand() const;
    uint64_t refused() const;

private:
    const int max_in_hand_;
    const int max_per_uid_;
    mutable std::mutex mu_;
    int in_hand_ = 0;
    std::map<uid_t, int> of_uid_;
    uint64_t refused_ = 0;
};

}  // namespace vigil

#endif
