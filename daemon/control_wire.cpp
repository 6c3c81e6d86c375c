#include "daemon/control_wire.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace bulwark {

bool fill_addr(const std::string& path, sockaddr_un& addr) {
    addr = {};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof(addr.sun_path)) return false;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    return true;
}

// Reads one line (up to 1 MiB) with a deadline.
Result<std::string> read_line(int fd, int timeout_ms) {
    std::string buf;
    char chunk[4096];
    for (;;) {
        pollfd p{fd, POLLIN, 0};
        int r = poll(&p, 1, timeout_ms);
        if (r == 0) return Error{"read: timed out", ETIMEDOUT};
        if (r < 0) {
            if (errno == EINTR) continue;
            return errno_error("poll");
        }
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno_error("read");
        }
        if (n == 0) return buf.empty() ? Result<std::string>(Error{"read: connection closed", ECONNRESET}) : buf;
        buf.append(chunk, size_t(n));
        if (auto nl = buf.find('\n'); nl != std::string::npos) return buf.substr(0, nl);
        if (buf.size() > (1u << 20)) return Error{"read: request too long", EMSGSIZE};
    }
}

Status write_all(int fd, const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
        // A peer that hung up is an error for this connection, never a
        // signal that ends the process (SIGPIPE would end bulwarkd).
        ssize_t n = send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno_error("write");
        }
        off += size_t(n);
    }
    return std::nullopt;
}

Result<nlohmann::json> control_request(const std::string& path, const nlohmann::json& request, int timeout_ms) {
    sockaddr_un addr;
    if (!fill_addr(path, addr)) return Error{"control socket path too long: " + path, ENAMETOOLONG};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return errno_error("create socket");
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0) {
        Error e = errno_error("connect to " + path);
        close(fd);
        return e;
    }
    if (auto err = write_all(fd, request.dump() + "\n")) {
        close(fd);
        return *err;
    }
    auto line = read_line(fd, timeout_ms);
    close(fd);
    if (!line) return line.error();
    auto j = nlohmann::json::parse(*line, nullptr, false);
    if (j.is_discarded()) return Error{"malformed answer from bulwarkd", EBADMSG};
    return j;
}

}  // namespace bulwark
