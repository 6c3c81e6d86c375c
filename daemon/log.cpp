#include "daemon/log.h"

#include <cstdlib>
#include <mutex>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

namespace bulwark::log {
namespace {

std::mutex g_mu;
bool g_syslog_prefix = false;
spdlog::level::level_enum g_level = spdlog::level::info;
spdlog::sink_ptr g_sink;

spdlog::sink_ptr sink() {
    if (!g_sink) g_sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    return g_sink;
}

std::string pattern() {
    // sd-daemon(3) priority prefixes: <3> err, <4> warning, <6> info, <7> debug.
    // spdlog has no per-level literal, so the level name goes after it instead.
    if (g_syslog_prefix) return "%n: %v";
    return "%Y-%m-%dT%H:%M:%S.%e %^%l%$ %n: %v";
}

class PriorityFormatter final : public spdlog::formatter {
public:
    explicit PriorityFormatter(std::unique_ptr<spdlog::formatter> inner) : inner_(std::move(inner)) {}
    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
        const char* prio = "<6>";
        switch (msg.level) {
            case spdlog::level::critical: prio = "<2>"; break;
            case spdlog::level::err: prio = "<3>"; break;
            case spdlog::level::warn: prio = "<4>"; break;
            case spdlog::level::info: prio = "<6>"; break;
            default: prio = "<7>"; break;
        }
        dest.append(prio, prio + 3);
        inner_->format(msg, dest);
    }
    std::unique_ptr<spdlog::formatter> clone() const override {
        return std::make_unique<PriorityFormatter>(inner_->clone());
    }

private:
    std::unique_ptr<spdlog::formatter> inner_;
};

void configure(spdlog::logger& lg) {
    lg.set_level(g_level);
    if (g_syslog_prefix) {
        lg.set_formatter(std::make_unique<PriorityFormatter>(
            std::make_unique<spdlog::pattern_formatter>(pattern())));
    } else {
        lg.set_pattern(pattern());
    }
    lg.flush_on(spdlog::level::trace);
}

}  // namespace

void init(bool syslog_prefix, spdlog::level::level_enum level) {
    std::lock_guard lk(g_mu);
    g_syslog_prefix = syslog_prefix;
    g_level = level;
    spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& lg) { configure(*lg); });
}

std::shared_ptr<spdlog::logger> get(const std::string& subsystem) {
    std::lock_guard lk(g_mu);
    if (auto lg = spdlog::get(subsystem)) return lg;
    auto lg = std::make_shared<spdlog::logger>(subsystem, sink());
    configure(*lg);
    spdlog::register_logger(lg);
    return lg;
}

}  // namespace bulwark::log
