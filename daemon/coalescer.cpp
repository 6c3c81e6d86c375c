#include "daemon/coalescer.h"

namespace bulwark {

bool Coalescer::admit(const CoalesceKey& key, Clock::time_point now) {
    auto it = windows_.find(key);
    if (it != windows_.end()) {
        if (now - it->second.start < window_) {
            ++it->second.repeats;
            return false;
        }
        // The old window ended before anyone flushed it: keep its count.
        if (it->second.repeats > 0) ended_.emplace_back(it->first, it->second.repeats);
    }
    windows_[key] = Window{now, 0};
    return true;
}

void Coalescer::flush(Clock::time_point now, const std::function<void(const CoalesceKey&, uint64_t)>& emit,
                      bool all) {
    for (const auto& [key, repeats] : ended_) emit(key, repeats);
    ended_.clear();
    for (auto it = windows_.begin(); it != windows_.end();) {
        if (all || now - it->second.start >= window_) {
            if (it->second.repeats > 0) emit(it->first, it->second.repeats);
            it = windows_.erase(it);
        } else {
            ++it;
        }
    }
}

}  // namespace bulwark
