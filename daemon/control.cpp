#include "daemon/control.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>

#include "daemon/control_wire.h"
#include "daemon/log.h"

namespace bulwark {

Result<std::unique_ptr<ControlServer>> ControlServer::listen(const std::string& path) {
    sockaddr_un addr;
    if (!fill_addr(path, addr)) return Error{"control socket path too long: " + path, ENAMETOOLONG};
    const auto dir = std::filesystem::path(path).parent_path();
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return Error{"create directory " + dir.string(), ec.value()};
    chmod(dir.c_str(), 0700);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return errno_error("create control socket");
    unlink(path.c_str());  // a stale socket of a previous run
    const mode_t old = umask(0177);
    int r = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    umask(old);
    if (r < 0 || ::listen(fd, 8) < 0) {
        Error e = errno_error("bind control socket " + path);
        close(fd);
        return e;
    }
    return std::unique_ptr<ControlServer>(new ControlServer(path, fd));
}

ControlServer::~ControlServer() {
    close(fd_);
    unlink(path_.c_str());
}

void ControlServer::serve_one(const Handler& handler) {
    int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) return;
    ucred cred{};
    socklen_t len = sizeof(cred);
    nlohmann::json answer;
    if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != 0) {
        answer = {{"ok", false}, {"error", "only root may control bulwarkd"}};
    } else if (auto line = read_line(c, 2000); !line) {
        answer = {{"ok", false}, {"error", line.error().to_string()}};
    } else {
        auto req = nlohmann::json::parse(*line, nullptr, false);
        if (!req.is_object() || !req.contains("cmd") || !req["cmd"].is_string())
            answer = {{"ok", false}, {"error", "bad request: expected {\"cmd\": ...}"}};
        else
            answer = handler(req);
    }
    if (auto err = write_all(c, answer.dump() + "\n"))
        log::get("control")->warn("answer: {}", err->to_string());
    close(c);
}

}  // namespace bulwark
