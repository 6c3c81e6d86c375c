// control_wire.h — the control socket's wire: one JSON object on one line
// each way.  Used by bulwarkd's server (control.cpp) and by bulwarkctl; no
// libbpf, no logging: the small bulwark_control library.
#pragma once

#include <sys/un.h>

#include <string>

#include <nlohmann/json.hpp>

#include "daemon/error.h"

namespace bulwark {

bool fill_addr(const std::string& path, sockaddr_un& addr);
// Reads one line (up to 1 MiB) with a deadline.
Result<std::string> read_line(int fd, int timeout_ms);
Status write_all(int fd, const std::string& s);

// Client side: sends one request, returns the answer.
Result<nlohmann::json> control_request(const std::string& path, const nlohmann::json& request, int timeout_ms);

}  // namespace bulwark
