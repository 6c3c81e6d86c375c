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
#include "daemon/kernel_counters.h"
#include "daemon/loader.h"
#include "policy/policy.h"

struct ring_buffer;

namespace bulwark {

// The policy store: the rule table of every generation a kernel record may
// still name.  A generation is registered *before* the kernel switches to it
// (so its first record finds it) and retired only after the switch away from
// it was fenced and the consumer has since drained the ring buffer (so no
// record of it is left unread).  A record takes its generation's table with
// it (Event::rules) and keeps it alive while it waits in the queue.
class RuleBook {
public:
    void add(uint32_t generation, std::shared_ptr<const policy::CompiledPolicy> compiled);
    void remove(uint32_t generation);  // a generation that never came into force
    std::shared_ptr<const policy::CompiledPolicy> get(uint32_t generation) const;
    // Every generation below `generation` may go once the consumer has read
    // everything the kernel wrote until now (EventPipeline applies it).
    void retire_below_after_drain(uint32_t generation);
    // The consumer, after a full drain that began after the request.
    void apply_retirement(uint32_t requested);
    uint32_t retirement_requested() const { return retire_request_.load(); }
    size_t size() const;

private:
    mutable std::mutex mu_;
    std::map<uint32_t, std::shared_ptr<const policy::CompiledPolicy>> gens_;
    std::atomic<uint32_t> retire_request_{0};
};

struct PipelineStats {
    uint64_t delivered = 0;       // records written to the audit log
    uint64_t kernel_lost = 0;     // ring buffer full (kernel counters)
    uint64_t queue_dropped = 0;   // bounded queue full
    uint64_t malformed = 0;       // refused by the decoder
    uint64_t write_failed = 0;    // records the audit log could not take (e.g. disk full)
    uint64_t verdicts = 0;        // violations acted upon (kernel counters)
    uint64_t unattributed = 0;    // records whose generation the daemon no longer knew
    KernelCounters kernel;        // what the kernel could not do, as last read
};

struct PipelineOptions {
    EnforcementMode mode = EnforcementMode::lsm;
    size_t queue_capacity = 1u << 16;
    std::chrono::milliseconds loss_report_interval{2000};
    std::vector<NamedFd> programs;  // their recursion misses are reported
};

class EventPipeline {
public:
    EventPipeline(int events_fd, int counters_fd, const PipelineOptions& opts, AuditSink& audit,
                  JournalSink* journal, RuleBook& rules);
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

    int events_fd_, counters_fd_;
    PipelineOptions opts_;
    AuditSink& audit_;
    JournalSink* journal_;
    RuleBook& rules_;
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
    std::atomic<uint64_t> delivered_{0}, queue_dropped_{0}, malformed_{0}, write_failed_{0}, unattributed_{0};
    mutable std::mutex kernel_mu_;
    KernelCounters kernel_;           // as last read (sink thread)
    KernelCounters reported_kernel_;  // as last reported
    uint64_t reported_queue_dropped_ = 0, reported_malformed_ = 0, reported_write_failed_ = 0;
    uint64_t pending_records_ = 0;  // records added to the audit batch not yet committed
    std::thread consumer_, sink_;
};

}  // namespace bulwark
