// control.h — the daemon's local control socket (bulwarkctl status/reload).
//
// A Unix stream socket, by default /run/bulwark/control.sock, mode 0600 in a
// 0700 directory; peers other than root are refused (SO_PEERCRED).  One
// request per connection: a JSON object on one line ({"cmd":"status"} or
// {"cmd":"reload"}), answered by one JSON object on one line.
#pragma once

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "daemon/control_wire.h"
#include "daemon/error.h"

namespace bulwark {

class ControlServer {
public:
    using Handler = std::function<nlohmann::json(const nlohmann::json& request)>;
    static Result<std::unique_ptr<ControlServer>> listen(const std::string& path);
    ~ControlServer();
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    int fd() const { return fd_; }
    // Accepts one pending connection and answers it (call when fd() is readable).
    void serve_one(const Handler& handler);

private:
    ControlServer(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
    std::string path_;
    int fd_;
};


}  // namespace bulwark
