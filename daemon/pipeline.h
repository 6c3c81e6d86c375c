// pipeline.h — kernel events to the sinks.
//
//   consumer thread: drains the ring buffer, decodes strictly, pushes into a
//                    bounded queue (a full queue drops and counts: the kernel
//                    side never waits for a slow disk)
//   sink thread:     enriches, numbers, writes the audit log and the journal,
//                    and reports losses (kernel ring buffer full, queue full,
//                    malformed records) as `lost` records and journal warnings
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "daemon/audit_sink.h"
#include "daemon/enrich.h"
#include "daemon/error.h"
#include "daemon/event.h"
#include "daemon/journal_sink.h"
#include "daemon/loader.h"
#include "policy/policy.h"

struct ring_buffer;

namespace bulwark {

// Rule tables of the policy generations events may still refer to.
class RuleBook {
public:
    void add(uint32_t generation, std::shared_ptr<const policy::CompiledPolicy> compiled);
    std::shared_ptr<const policy::CompiledPolicy> get(uint32_t generation) const;

private:
    mutable std::mutex mu_;
    std::map<uint32_t, std::shared_ptr<const policy::CompiledPolicy>> gens_;
};

struct PipelineStats {
    uint64_t delivered = 0;       // records written to the audit log
    uint64_t kernel_lost = 0;     // ring buffer full (kernel counters)
    uint64_t queue_dropped = 0;   // bounded queue full
    uint64_t malformed = 0;       // refused by the decoder
    uint64_t write_failed = 0;    // records the audit log could not take (e.g. disk full)
    uint64_t verdicts = 0;        // violations acted upon (kernel counters)
};

struct PipelineOptions {
    EnforcementMode mode = EnforcementMode::lsm;
    size_t queue_capacity = 1u << 16;
    std::chrono::milliseconds loss_report_interval{2000};
};

class EventPipeline {
public:
    EventPipeline(int events_fd, int counters_fd, const PipelineOptions& opts, AuditSink& audit,
                  JournalSink* journal, const RuleBook& rules);
    ~EventPipeline();
    Status start();
    // Drains what the kernel already reported, then stops both threads.
    void stop();
    void request_reopen() { reopen_.store(true); }
    PipelineStats stats() const;

private:
    static int on_record(void* ctx, void* data, size_t size);
    void consume_loop();
    void hand_over();  // the records of one poll into the queue, under one lock
    void sink_loop();
    void process(Event& ev);
    void report_losses(bool final);
    void commit_audit(bool force);
    void read_kernel_counters(uint64_t& lost, uint64_t& verdicts) const;

    int events_fd_, counters_fd_;
    PipelineOptions opts_;
    AuditSink& audit_;
    JournalSink* journal_;
    const RuleBook& rules_;
    Enricher enricher_;
    std::string boot_id_;
    ring_buffer* ring_ = nullptr;

    std::vector<Event> drained_;  // consumer thread only: records of the current poll
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Event> queue_;
    bool consumer_done_ = false;

    std::atomic<bool> stop_{false};
    std::atomic<bool> reopen_{false};
    std::atomic<uint64_t> delivered_{0}, queue_dropped_{0}, malformed_{0}, kernel_lost_{0}, verdicts_{0},
        write_failed_{0};
    uint64_t reported_kernel_lost_ = 0, reported_queue_dropped_ = 0, reported_malformed_ = 0,
             reported_write_failed_ = 0;
    uint64_t pending_records_ = 0;  // records added to the audit batch not yet committed
    std::thread consumer_, sink_;
};

}  // namespace bulwark
