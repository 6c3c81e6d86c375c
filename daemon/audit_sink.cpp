#include "daemon/audit_sink.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>

namespace bulwark {
namespace {

Result<int> open_append(const std::string& path) {
    std::error_code ec;
    const auto dir = std::filesystem::path(path).parent_path();
    if (!dir.empty()) {
        std::filesystem::create_directories(dir, ec);
        if (ec) return Error{"create directory " + dir.string(), ec.value()};
    }
    int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) return errno_error("open audit log " + path);
    return fd;
}

}  // namespace

Result<std::unique_ptr<AuditSink>> AuditSink::open(const std::string& path) {
    auto fd = open_append(path);
    if (!fd) return fd.error();
    return std::unique_ptr<AuditSink>(new AuditSink(path, *fd));
}

AuditSink::~AuditSink() {
    if (fd_ >= 0) ::close(fd_);
}

Status AuditSink::write(const nlohmann::json& record) {
    std::string line = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    line.push_back('\n');
    size_t off = 0;
    while (off < line.size()) {
        ssize_t n = ::write(fd_, line.data() + off, line.size() - off);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno_error("write audit log " + path_);
        }
        off += static_cast<size_t>(n);
    }
    return std::nullopt;
}

Status AuditSink::reopen() {
    auto fd = open_append(path_);
    if (!fd) return fd.error();
    ::close(fd_);
    fd_ = *fd;
    return std::nullopt;
}

}  // namespace bulwark
