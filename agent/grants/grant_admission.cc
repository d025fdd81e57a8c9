#include "grant_admission.h"

#include "log.h"

namespace vigil {

bool GrantAdmission::admit(uid_t uid, pid_t pid) {
    std::lock_guard lock(mu_);
    int& mine = of_uid_[uid];
    if (in_hand_ < max_in_hand_ && mine < max_per_uid_) {
        ++in_hand_;
        ++mine;
        return true;
    }
    int had = mine;
    if (mine == 0) of_uid_.erase(uid);
    uint64_t n = ++refused_;
    if ((n & (n - 1)) == 0) {
        log_warn(
            "grant socket: refused peer pid {} uid {}: {} grant connections in hand ({} of them its own); {} refused "
            "so far",
            pid, uid, in_hand_, had, n);
    }
    return false;
}

void GrantAdmission::release(uid_t uid) {
    std::lock_guard lock(mu_);
    auto it = of_uid_.find(uid);
    if (it == of_uid_.end()) return;  // never admitted: nothing to give back
    --in_hand_;
    if (--it->second <= 0) of_uid_.erase(it);
}

int GrantAdmission::in_hand() const {
    std::lock_guard lock(mu_);
    return in_hand_;
}

uint64_t GrantAdmission::refused() const {
    std::lock_guard lock(mu_);
    return refused_;
}

}  // namespace vigil
