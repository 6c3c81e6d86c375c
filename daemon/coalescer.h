// coalescer.h — keeps a burst of identical violations from flooding the
// journal (journald drops messages past its per-service rate limit).
//
// The first event of a key goes out at once.  Repeats of the same key within
// the window are counted; when the window ends, one summary with the count
// goes out.  The audit log is not coalesced: it keeps every event.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace bulwark {

struct CoalesceKey {
    uint32_t kind = 0;
    uint32_t verdict = 0;
    uint32_t generation = 0;
    uint32_t rule_id = 0;
    std::string exe;
    auto operator<=>(const CoalesceKey&) const = default;
};

class Coalescer {
public:
    using Clock = std::chrono::steady_clock;
    explicit Coalescer(std::chrono::milliseconds window) : window_(window) {}

    // True: emit this event now.  False: it was counted into a pending summary.
    bool admit(const CoalesceKey& key, Clock::time_point now);

    // Calls emit(key, repeats, window) for every window that has ended with
    // repeats > 0, and forgets ended windows.  `all` ends every window (shutdown).
    void flush(Clock::time_point now, const std::function<void(const CoalesceKey&, uint64_t)>& emit,
               bool all = false);

    std::chrono::milliseconds window() const { return window_; }
    size_t pending() const { return windows_.size(); }

private:
    struct Window {
        Clock::time_point start;
        uint64_t repeats = 0;
    };
    std::chrono::milliseconds window_;
    std::map<CoalesceKey, Window> windows_;
    std::vector<std::pair<CoalesceKey, uint64_t>> ended_;
};

}  // namespace bulwark
