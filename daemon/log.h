// log.h — the daemon's own logs (not violations): spdlog to stderr, every
// line prefixed with its subsystem ("loader: ...").  Under systemd stderr
// goes to the journal, so each line also carries a <N> syslog priority.
#pragma once

#include <memory>
#include <string>

#include <spdlog/spdlog.h>

namespace bulwark::log {

// Call once at start-up.  `syslog_prefix` adds "<N>" priority prefixes
// (set when stderr is connected to the journal).
void init(bool syslog_prefix, spdlog::level::level_enum level = spdlog::level::info);

// Logger for one subsystem: "daemon", "loader", "policy", "maps", "events", "audit".
std::shared_ptr<spdlog::logger> get(const std::string& subsystem);

}  // namespace bulwark::log
