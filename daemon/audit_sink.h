// audit_sink.h — the JSON-lines audit log: one object per line, appended.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "daemon/error.h"

namespace bulwark {

class AuditSink {
public:
    // Opens (creating it and its directory if needed) for appending.
    static Result<std::unique_ptr<AuditSink>> open(const std::string& path);
    ~AuditSink();
    AuditSink(const AuditSink&) = delete;
    AuditSink& operator=(const AuditSink&) = delete;

    // Writes one complete line with a single write(2) on an O_APPEND file.
    Status write(const nlohmann::json& record);
    // Closes and opens the path again (after rotation; SIGUSR1).
    Status reopen();
    const std::string& path() const { return path_; }

private:
    AuditSink(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
    std::string path_;
    int fd_;
};

}  // namespace bulwark
