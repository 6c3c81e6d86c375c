#include "daemon/audit_sink.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace bulwark {
namespace {

constexpr size_t kNoneFlushBytes = 64 * 1024;
constexpr int64_t kNoneFlushNs = 1'000'000'000;

int64_t mono_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

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

// The last complete line of a file (reads only its tail).
std::string last_line(const std::string& path) {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in) return "";
    const std::streamoff size = in.tellg();
    const std::streamoff start = size > 65536 ? size - 65536 : 0;
    in.seekg(start);
    std::string tail((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // A partial last line (crash) has no newline: ignore it.
    const size_t end = tail.rfind('\n');
    if (end == std::string::npos) return "";
    const size_t begin = tail.rfind('\n', end == 0 ? 0 : end - 1);
    if (begin == std::string::npos) return start == 0 ? tail.substr(0, end) : "";
    return tail.substr(begin + 1, end - begin - 1);
}

}  // namespace


std::string current_boot_id() {
    std::ifstream in("/proc/sys/kernel/random/boot_id");
    std::string id;
    std::getline(in, id);
    return id;
}

Result<std::unique_ptr<AuditSink>> AuditSink::open(const std::string& path, FlushPolicy flush,
                                                   const std::string& boot_id) {
    auto fd = open_append(path);
    if (!fd) return fd.error();
    std::unique_ptr<AuditSink> sink(new AuditSink(path, *fd, flush));
    // Continue the boot's sequence after the last record, if it is ours.
    const std::string line = last_line(path);
    if (!line.empty() && !boot_id.empty()) {
        auto j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_object() && j.value("boot_id", std::string()) == boot_id && j.contains("seq") &&
            j["seq"].is_number_unsigned())
            sink->seq_ = j["seq"].get<uint64_t>();
    }
    return sink;
}

AuditSink::~AuditSink() {
    commit(true);
    if (fd_ >= 0) ::close(fd_);
}

std::string& AuditSink::pending_line_start() {
    if (pending_.empty()) pending_since_ns_ = mono_ns();
    return pending_;
}

void AuditSink::pending_line_end() { pending_.push_back('\n'); }

void AuditSink::add(const nlohmann::json& record) {
    if (pending_.empty()) pending_since_ns_ = mono_ns();
    pending_ += record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    pending_.push_back('\n');
}

Status AuditSink::write_all(const std::string& data) {
    size_t off = 0;
    while (off < data.size()) {
        ssize_t n = ::write(fd_, data.data() + off, data.size() - off);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno_error("write audit log " + path_);
        }
        off += static_cast<size_t>(n);
    }
    return std::nullopt;
}

Status AuditSink::commit(bool force) {
    if (pending_.empty()) return std::nullopt;
    if (!force && flush_ == FlushPolicy::none && pending_.size() < kNoneFlushBytes &&
        mono_ns() - pending_since_ns_ < kNoneFlushNs)
        return std::nullopt;
    std::string data;
    data.swap(pending_);
    if (auto err = write_all(data)) return err;
    if (flush_ == FlushPolicy::fsync && fdatasync(fd_) < 0) return errno_error("fdatasync audit log " + path_);
    return std::nullopt;
}

Status AuditSink::write(const nlohmann::json& record) {
    add(record);
    return commit(true);
}

Status AuditSink::reopen() {
    if (auto err = commit(true)) return err;
    auto fd = open_append(path_);
    if (!fd) return fd.error();
    ::close(fd_);
    fd_ = *fd;
    return std::nullopt;
}

}  // namespace bulwark
