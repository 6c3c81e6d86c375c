// journal_sink.h — one structured journal entry per violation (sd_journal_sendv),
// with fixed MESSAGE_IDs per event kind and BULWARK_* fields; bursts of
// identical violations are coalesced (the audit log keeps every event).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "daemon/coalescer.h"
#include "daemon/enrich.h"
#include "daemon/event.h"

namespace bulwark {

// MESSAGE_IDs (journalctl MESSAGE_ID=...; explained by config/bulwark.catalog).
namespace message_id {
inline constexpr const char* kOpenDenied = "7594366912ef4fdabad5446b0e83e52a";
inline constexpr const char* kOpenKilled = "80ed04458e614ad0966bb88bddfac3bb";
inline constexpr const char* kExecDenied = "0ebd8c7cf14d4f3fa8a1ec47e2ae0241";
inline constexpr const char* kChangeDenied = "ad7056bef25e42da81b128581c313bb5";
// A descriptor open when its rule came into force (audit kind preexisting).
inline constexpr const char* kPreexisting = "3169e3d9f58b4b28b98c9fb6a4edc9c7";
// A read, write or map through such a descriptor, refused (kind file_access).
inline constexpr const char* kAccessDenied = "a947d6a069434f689d3d1df7ea69ea5d";
inline constexpr const char* kAudited = "6ce56fde6d3440c597a3b5247e34f534";
inline constexpr const char* kLost = "9bcb42068bd74421937987627bc27d2a";
// A rule said kill and the kernel could not send the signal.
inline constexpr const char* kKillFailed = "c6b12ff2482842e5a05ca84570ba3a6c";
// Enforcement the kernel could not carry out (counted, no record of its own):
// recursion misses, truncated walks, an invalid bw_state.
inline constexpr const char* kEnforcementGap = "77b008978b04455c8d149927782b39a7";
// The kernel's bulwark maps or links were changed behind bulwarkd's back.
inline constexpr const char* kTampered = "5d1e0f7b8a4c4e21b0c97e3f6a2d9b18";
// The kernel refused an attempt on bulwark itself (audit kind tamper).
inline constexpr const char* kTamperRefused = "76ae68bb95de4ab89beea0d4dd973bdd";
// bulwarkd left enforcement in force (pinned) / detached it at exit.
inline constexpr const char* kPersistence = "f31da9d233514aebb3251edd11130dfe";
}  // namespace message_id

const char* message_id_for(const Event& ev);

// The journal fields of one violation, "KEY=value" each (MESSAGE first).
std::vector<std::string> journal_fields(const Event& ev, const EventContext& ctx, const Enrichment& enr,
                                        uint64_t repeats = 0);

class JournalSink {
public:
    explicit JournalSink(std::chrono::milliseconds coalesce_window) : coalescer_(coalesce_window) {}

    // Sends (or counts into a burst) one violation.
    void write(const Event& ev, const EventContext& ctx, const Enrichment& enr);
    // Sends the summaries of bursts whose window has ended (all: every burst).
    void flush(bool all = false);
    // A loss report: `what` says where events were lost, with counts.
    void lost(const std::string& message, const std::vector<std::string>& fields);
    // Any other bulwark entry with its own MESSAGE_ID and fields.
    void notice(const char* message_id, int priority, const std::string& message,
                const std::vector<std::string>& fields);

    uint64_t sent() const { return sent_; }
    uint64_t coalesced() const { return coalesced_; }
    uint64_t failed() const { return failed_; }

private:
    struct Last {
        Event ev;
        EventContext ctx;
        Enrichment enr;
        std::optional<policy::CompiledRule> rule;
    };
    void send(const std::vector<std::string>& fields);

    Coalescer coalescer_;
    std::map<CoalesceKey, Last> last_;  // the last event of each burst, for its summary
    uint64_t sent_ = 0, coalesced_ = 0, failed_ = 0;
};

}  // namespace bulwark
