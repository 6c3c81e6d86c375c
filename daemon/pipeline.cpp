#include "daemon/pipeline.h"

#include <pthread.h>

#include <unistd.h>

#include <vector>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <systemd/sd-daemon.h>

#include "bulwark_abi.h"
#include "daemon/log.h"

namespace bulwark {

void RuleBook::add(uint32_t generation, std::shared_ptr<const policy::CompiledPolicy> compiled) {
    std::lock_guard lk(mu_);
    gens_[generation] = std::move(compiled);
}

void RuleBook::remove(uint32_t generation) {
    std::lock_guard lk(mu_);
    gens_.erase(generation);
}

void RuleBook::retire_below_after_drain(uint32_t generation) {
    uint32_t cur = retire_request_.load();
    while (cur < generation && !retire_request_.compare_exchange_weak(cur, generation)) {
    }
}

void RuleBook::apply_retirement(uint32_t requested) {
    std::lock_guard lk(mu_);
    while (!gens_.empty() && gens_.begin()->first < requested) gens_.erase(gens_.begin());
}

size_t RuleBook::size() const {
    std::lock_guard lk(mu_);
    return gens_.size();
}

std::shared_ptr<const policy::CompiledPolicy> RuleBook::get(uint32_t generation) const {
    std::lock_guard lk(mu_);
    auto it = gens_.find(generation);
    return it == gens_.end() ? nullptr : it->second;
}

EventPipeline::EventPipeline(int events_fd, int counters_fd, const PipelineOptions& opts, AuditSink& audit,
                             JournalSink* journal, RuleBook& rules)
    : events_fd_(events_fd), counters_fd_(counters_fd), opts_(opts), audit_(audit), journal_(journal),
      rules_(rules), boot_id_(current_boot_id()) {}

EventPipeline::~EventPipeline() {
    stop();
    if (ring_) ring_buffer__free(ring_);
}

Status EventPipeline::start() {
    ring_ = ring_buffer__new(events_fd_, &EventPipeline::on_record, this, nullptr);
    if (!ring_) return errno_error("create ring buffer reader");
    // Named so that `top -H`, `ps -L` and the benchmarks can tell them apart.
    consumer_ = std::thread([this] {
        pthread_setname_np(pthread_self(), "bw-consumer");
        consume_loop();
    });
    sink_ = std::thread([this] {
        pthread_setname_np(pthread_self(), "bw-sink");
        sink_loop();
    });
    return std::nullopt;
}

void EventPipeline::stop() {
    if (!consumer_.joinable() && !sink_.joinable()) return;
    stop_.store(true);
    if (consumer_.joinable()) consumer_.join();
    if (sink_.joinable()) sink_.join();
}

int EventPipeline::on_record(void* ctx, void* data, size_t size) {
    auto* self = static_cast<EventPipeline*>(ctx);
    auto ev = decode_event(data, size);
    if (!ev) {
        if (self->malformed_.fetch_add(1) == 0)
            log::get("events")->warn("refused a malformed record: {}", ev.error().to_string());
        return 0;
    }
    ev->rules = self->rules_.get(ev->raw.generation);
    self->drained_.push_back(std::move(*ev));
    return 0;
}

void EventPipeline::hand_over() {
    if (drained_.empty()) return;
    bool wake = false;
    {
        std::lock_guard lk(mu_);
        wake = queue_.empty();  // else the sink is busy and will look again
        size_t room = opts_.queue_capacity > queue_.size() ? opts_.queue_capacity - queue_.size() : 0;
        for (auto& ev : drained_) {
            if (room == 0) {
                queue_dropped_.fetch_add(1);
                continue;
            }
            queue_.push_back(std::move(ev));
            --room;
        }
    }
    drained_.clear();
    if (wake) cv_.notify_one();
}

void EventPipeline::consume_loop() {
    // The systemd watchdog is fed from this loop: if draining wedges, the
    // watchdog fires and systemd restarts the service.
    uint64_t wd_usec = 0;
    const bool watchdog = sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec > 0;
    const auto wd_interval = std::chrono::microseconds(wd_usec / 3);
    auto wd_last = std::chrono::steady_clock::now() - wd_interval;
    while (!stop_.load()) {
        if (watchdog && std::chrono::steady_clock::now() - wd_last >= wd_interval) {
            sd_notify(0, "WATCHDOG=1");
            wd_last = std::chrono::steady_clock::now();
        }
        // A retirement requested before this poll began covers every record
        // the kernel wrote before the request: this poll reads them all.
        const uint32_t retire = rules_.retirement_requested();
        int n = ring_buffer__poll(ring_, 200);
        hand_over();
        if (n >= 0) rules_.apply_retirement(retire);
        if (n < 0 && n != -EINTR) {
            log::get("events")->error("{}", Error{"poll ring buffer", -n}.to_string());
            break;
        }
    }
    // Whatever the kernel already handed over is delivered before stopping.
    ring_buffer__consume(ring_);
    hand_over();
    {
        std::lock_guard lk(mu_);
        consumer_done_ = true;
    }
    cv_.notify_one();
}

void EventPipeline::process(Event& ev) {
    const auto& compiled = ev.rules;
    EventContext ctx;
    ctx.mode = opts_.mode;
    ctx.seq = audit_.take_seq();
    ctx.boot_id = boot_id_;
    ctx.wall_ns = boot_ns_to_wall_ns(ev.raw.ts_boot_ns);
    if (ev.raw.kind == BW_EV_TAMPER) {
        // About bulwark itself, not about a rule.
    } else if (compiled && ev.raw.rule_id < compiled->rules.size()) {
        ctx.rule = &compiled->rules[ev.raw.rule_id];
    } else {
        unattributed_.fetch_add(1);
    }
    const Enrichment enr = enricher_.lookup(ev.raw.pid, ev.raw.ppid, ev.raw.uid);
    // Serialized straight into the audit log's batch; the journal builds its
    // fields only for the entries it sends (bursts are coalesced).
    append_audit_line(audit_.pending_line_start(), ev, ctx, &enr);
    audit_.pending_line_end();
    ++pending_records_;
    if (journal_) journal_->write(ev, ctx, enr);
}

void EventPipeline::commit_audit(bool force) {
    const uint64_t n = pending_records_;
    if (auto err = audit_.commit(force)) {
        // The batch is gone: count it as lost, and say so once per report.
        write_failed_.fetch_add(n);
        pending_records_ = 0;
        if (write_failed_.load() == n) log::get("audit")->error("{}", err->to_string());
        return;
    }
    if (audit_.pending_bytes() == 0) {
        delivered_.fetch_add(n);
        pending_records_ = 0;
    }
}

void EventPipeline::report_losses(bool final) {
    commit_audit(true);  // the events before the report go out (and are counted) first
    const KernelCounters k = read_kernel_counters(counters_fd_, opts_.programs);
    KernelCounters was;
    {
        std::lock_guard lk(kernel_mu_);
        kernel_ = k;
        was = reported_kernel_;
    }
    const uint64_t qdrop = queue_dropped_.load(), bad = malformed_.load(), wfail = write_failed_.load();
    const uint64_t dk = k.lost - was.lost, dq = qdrop - reported_queue_dropped_, dm = bad - reported_malformed_,
                   dw = wfail - reported_write_failed_;
    // Enforcement the kernel could not carry out as the policy says.
    const uint64_t dkill = k.kill_failed - was.kill_failed, dwalk = k.walk_truncated - was.walk_truncated,
                   drec = k.recursion_total() - was.recursion_total(), dstate = k.bad_state - was.bad_state,
                   dnone = k.no_policy - was.no_policy;
    if (dk == 0 && dq == 0 && dm == 0 && dw == 0 && dkill == 0 && dwalk == 0 && drec == 0 && dstate == 0 &&
        dnone == 0)
        return;
    {
        std::lock_guard lk(kernel_mu_);
        reported_kernel_ = k;
    }
    reported_queue_dropped_ = qdrop;
    reported_malformed_ = bad;
    reported_write_failed_ = wfail;

    nlohmann::json rec;
    rec["v"] = kAuditSchemaVersion;
    rec["seq"] = audit_.take_seq();
    rec["boot_id"] = boot_id_;
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    rec["time"] = format_wall_time(int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec);
    rec["kind"] = "lost";
    rec["mode"] = to_string(opts_.mode);
    rec["lost_kernel"] = dk;
    rec["lost_queue"] = dq;
    rec["malformed"] = dm;
    rec["lost_write"] = dw;  // records the audit log could not take (this one may fail too)
    rec["kill_failed"] = dkill;
    rec["walk_truncated"] = dwalk;
    rec["recursion_misses"] = drec;
    rec["bad_state"] = dstate;
    rec["no_policy"] = dnone;
    rec["total_lost_kernel"] = k.lost;
    rec["total_lost_queue"] = qdrop;
    rec["total_malformed"] = bad;
    rec["total_lost_write"] = wfail;
    rec["total_kill_failed"] = k.kill_failed;
    rec["total_walk_truncated"] = k.walk_truncated;
    rec["total_recursion_misses"] = k.recursion_total();
    rec["total_bad_state"] = k.bad_state;
    rec["total_no_policy"] = k.no_policy;
    audit_.add(rec);
    if (auto err = audit_.commit(true)) log::get("audit")->warn("loss record not written: {}", err->to_string());
    const std::string sfx = final ? " (at shutdown)" : "";
    if (dk || dq || dm || dw) {
        const std::string msg = "lost " + std::to_string(dk + dq + dw) + " violation events (" + std::to_string(dk) +
                                " ring buffer full, " + std::to_string(dq) + " queue full, " + std::to_string(dw) +
                                " audit log write failed) and refused " + std::to_string(dm) + " malformed records" +
                                sfx;
        log::get("events")->warn("{}", msg);
        if (journal_)
            journal_->lost(msg, {"BULWARK_LOST_KERNEL=" + std::to_string(dk),
                                 "BULWARK_LOST_QUEUE=" + std::to_string(dq),
                                 "BULWARK_MALFORMED=" + std::to_string(dm),
                                 "BULWARK_LOST_WRITE=" + std::to_string(dw),
                                 "BULWARK_TOTAL_LOST_KERNEL=" + std::to_string(k.lost),
                                 "BULWARK_TOTAL_LOST_QUEUE=" + std::to_string(qdrop)});
    }
    if (dkill || dwalk || drec || dstate || dnone) {
        std::string progs;
        for (const auto& [name, n] : k.recursion_misses)
            if (n != was.recursion_misses[name]) progs += (progs.empty() ? " (" : ", ") + name;
        if (!progs.empty()) progs += ")";
        const std::string msg = "the kernel could not enforce as the policy says: " + std::to_string(dkill) +
                                " kills failed, " + std::to_string(drec) + " program runs skipped (recursion)" +
                                progs + ", " + std::to_string(dwalk) + " ancestor walks truncated, " +
                                std::to_string(dstate) + " decisions on an invalid policy state, " +
                                std::to_string(dnone) + " with no policy" + sfx;
        log::get("events")->error("{}", msg);
        if (journal_)
            journal_->notice(message_id::kEnforcementGap, 3, msg,
                             {"BULWARK_KILL_FAILED=" + std::to_string(dkill),
                              "BULWARK_RECURSION_MISSES=" + std::to_string(drec),
                              "BULWARK_WALK_TRUNCATED=" + std::to_string(dwalk),
                              "BULWARK_BAD_STATE=" + std::to_string(dstate),
                              "BULWARK_NO_POLICY=" + std::to_string(dnone)});
    }
}

void EventPipeline::sink_loop() {
    std::vector<Event> batch;
    auto last_report = std::chrono::steady_clock::now();
    for (;;) {
        bool done = false;
        {
            std::unique_lock lk(mu_);
            cv_.wait_for(lk, std::chrono::milliseconds(250), [&] { return !queue_.empty() || consumer_done_; });
            const size_t n = std::min<size_t>(queue_.size(), 4096);
            batch.clear();
            for (size_t i = 0; i < n; ++i) {
                batch.push_back(std::move(queue_.front()));
                queue_.pop_front();
            }
            done = consumer_done_ && queue_.empty();
        }
        if (reopen_.exchange(false)) {
            if (auto err = audit_.reopen())
                log::get("audit")->error("{}", err->to_string());
            else
                log::get("audit")->info("reopened {}", audit_.path());
        }
        for (auto& ev : batch) process(ev);
        commit_audit(done);
        if (journal_) journal_->flush(done);
        const auto now = std::chrono::steady_clock::now();
        if (done || now - last_report >= opts_.loss_report_interval) {
            report_losses(done);
            last_report = now;
        }
        if (done) break;
    }
}

PipelineStats EventPipeline::stats() const {
    PipelineStats s;
    s.delivered = delivered_.load();
    s.queue_dropped = queue_dropped_.load();
    s.malformed = malformed_.load();
    s.write_failed = write_failed_.load();
    s.unattributed = unattributed_.load();
    {
        std::lock_guard lk(kernel_mu_);
        s.kernel = kernel_;
    }
    s.kernel_lost = s.kernel.lost;
    s.verdicts = s.kernel.verdicts;
    return s;
}

}  // namespace bulwark
