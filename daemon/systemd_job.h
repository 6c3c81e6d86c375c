// systemd_job.h — what systemd is doing with bulwarkd's own unit, asked over
// systemd's private bus socket (as systemctl does; no D-Bus daemon needed).
// SIGTERM means "stop" and "restart" alike; the pending job tells them apart.
#pragma once

#include <optional>
#include <string>

namespace bulwark {

// True when this process runs as a systemd service (INVOCATION_ID is set).
bool running_under_systemd();

// The type of the job systemd runs on the unit of this process ("stop",
// "restart", "try-restart", ...), "" when there is none, nullopt when it
// could not be asked (the reason in `why`).
// Refuses to believe a bus whose peer is not systemd itself (PID 1, uid
// 0): a socket bound over /run/systemd/private could otherwise answer
// "stop" and make bulwarkd detach.
std::optional<std::string> own_unit_job_type(std::string& why);

// Whether the peer of the connected Unix socket `fd` is PID 1 running as
// root (SO_PEERCRED); if not, `why` says who it is.
bool peer_is_init(int fd, std::string& why);

}  // namespace bulwark
