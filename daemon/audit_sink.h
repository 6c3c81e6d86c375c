// audit_sink.h — the JSON-lines audit log: one object per line, appended.
//
// Sequence numbers are per boot and gapless: at start the sink reads the
// last record of the existing log and continues after it when it is of the
// same boot.  Lines are written in batches (one write(2) per batch on an
// O_APPEND file), so a crash leaves at most one partial last line.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "daemon/config.h"
#include "daemon/error.h"

namespace bulwark {

class AuditSink {
public:
    static Result<std::unique_ptr<AuditSink>> open(const std::string& path, FlushPolicy flush,
                                                   const std::string& boot_id);
    ~AuditSink();
    AuditSink(const AuditSink&) = delete;
    AuditSink& operator=(const AuditSink&) = delete;

    // The next sequence number (call once per record, in order).
    uint64_t take_seq() { return ++seq_; }
    uint64_t last_seq() const { return seq_; }

    // Adds one record to the current batch.
    void add(const nlohmann::json& record);
    // The same for a record serialized in place: append one JSON object to
    // pending_line_start()'s string (append_audit_line), then call
    // pending_line_end().
    std::string& pending_line_start();
    void pending_line_end();
    // Ends the batch: writes it (per the flush policy).  `force` writes even
    // under FlushPolicy::none.
    Status commit(bool force = false);
    // Convenience: add + commit(force).
    Status write(const nlohmann::json& record);
    // Closes and opens the path again (after rotation; SIGUSR1).  Pending
    // lines are written to the old file first, so none is lost or doubled.
    Status reopen();
    const std::string& path() const { return path_; }
    size_t pending_bytes() const { return pending_.size(); }

private:
    AuditSink(std::string path, int fd, FlushPolicy flush) : path_(std::move(path)), fd_(fd), flush_(flush) {}
    Status write_all(const std::string& data);
    std::string path_;
    int fd_;
    FlushPolicy flush_;
    uint64_t seq_ = 0;
    std::string pending_;
    int64_t pending_since_ns_ = 0;
};

// The kernel's boot id (/proc/sys/kernel/random/boot_id), "" if unreadable.
std::string current_boot_id();

}  // namespace bulwark
