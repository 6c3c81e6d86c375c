#include "bench/suite.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <bpf/bpf.h>
#include <nlohmann/json.hpp>

#include "bench/bpf_stats.h"
#include "bench/fixture.h"
#include "bench/peers.h"
#include "bench/workload.h"
#include "daemon/control.h"
#include "test_env.h"

namespace bench {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double since_ms(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

void say(const std::string& s) { std::cerr << "bulwark-bench: " << s << std::endl; }

std::string utc_now() {
    char buf[32];
    const std::time_t t = std::time(nullptr);
    std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
    return buf;
}

std::set<uint32_t> ids(int (*next)(uint32_t, uint32_t*)) {
    std::set<uint32_t> s;
    uint32_t id = 0;
    while (next(id, &id) == 0) s.insert(id);
    return s;
}

// Kernel memory (memlock) of every BPF map not in `before`.
uint64_t new_map_bytes(const std::set<uint32_t>& before) {
    uint64_t total = 0;
    for (uint32_t id : ids(bpf_map_get_next_id)) {
        if (before.count(id)) continue;
        int fd = bpf_map_get_fd_by_id(id);
        if (fd < 0) continue;
        std::ifstream in("/proc/self/fdinfo/" + std::to_string(fd));
        std::string key;
        uint64_t value = 0;
        while (in >> key) {
            if (key == "memlock:" && in >> value) total += value;
        }
        close(fd);
    }
    return total;
}

uint64_t status_kib(pid_t pid, const std::string& field) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(field + ":", 0) == 0) return std::stoull(line.substr(field.size() + 1));
    return 0;
}

// CPU seconds of the thread of `pid` named `comm`.
double thread_cpu_s(pid_t pid, const std::string& comm) {
    const std::string task = "/proc/" + std::to_string(pid) + "/task";
    for (const auto& e : fs::directory_iterator(task)) {
        std::string name = testenv::read_file(e.path().string() + "/comm");
        while (!name.empty() && name.back() == '\n') name.pop_back();
        if (name != comm) continue;
        const std::string stat = testenv::read_file(e.path().string() + "/stat");
        std::istringstream in(stat.substr(stat.rfind(')') + 2));
        std::string f;
        uint64_t utime = 0, stime = 0;
        for (int i = 3; i <= 15 && in >> f; ++i) {
            if (i == 14) utime = std::stoull(f);
            if (i == 15) stime = std::stoull(f);
        }
        return double(utime + stime) / double(sysconf(_SC_CLK_TCK));
    }
    return 0;
}

class Suite {
public:
    explicit Suite(const Options& o) : o_(o), fx_(o.work) {
        ops_[Workload::open] = std::max<uint64_t>(100, uint64_t(200'000 * o.scale));
        ops_[Workload::read] = std::max<uint64_t>(100, uint64_t(400'000 * o.scale));
        ops_[Workload::exec] = std::max<uint64_t>(10, uint64_t(400 * o.scale));
        utsname u{};
        uname(&u);
        out_["schema"] = 1;
        out_["env"] = {{"where", o.where},
                       {"mode", nullptr},
                       {"kernel", u.release},
                       {"cpus", std::thread::hardware_concurrency()},
                       {"date", utc_now()},
                       {"reps", o.reps},
                       {"ops", {{"open", ops_[Workload::open]}, {"read", ops_[Workload::read]}, {"exec", ops_[Workload::exec]}}},
                       {"file", fx_.plain()},
                       {"exec_target", o.exec_target},
                       {"notes", o.notes}};
        out_["configs"] = json::array();
        baseline_ = {{"name", "baseline"}, {"kind", "baseline"}, {"description", "no daemon, no peer"},
                     {"error", nullptr}, {"samples", {{"open", json::array()}, {"read", json::array()}, {"exec", json::array()}}}};
    }

    int run() {
        pre_progs_ = ids(bpf_prog_get_next_id);
        pre_maps_ = ids(bpf_map_get_next_id);
        std::vector<PolicySet> sets;
        sets.push_back(make_policy(fx_, "empty", 0));
        for (size_t n : o_.sizes) {
            say("generating the " + size_name(n) + " policy");
            sets.push_back(make_policy(fx_, size_name(n), n));
        }
        for (const auto& ps : sets) {
            bulwark_config(ps);
            save();
        }
        const PolicySet* realistic = nullptr;
        for (const auto& ps : sets)
            if (ps.name == "1k") realistic = &ps;
        for (const auto& peer : o_.peers) {
            if (!realistic) throw std::runtime_error("peers compare with the 1k policy: keep 1000 in --sizes");
            peer_config(peer, *realistic);
            save();
        }
        baseline_block();  // closes the run: drift shows in the pooled baseline
        finish_baseline();
        if (!o_.skip_storm) storm();
        save();
        return 0;
    }

private:
    // R samples of each workload, interleaved, into `cfg`.
    void measure(json& cfg) {
        for (int r = 0; r < o_.reps; ++r)
            for (Workload w : kWorkloads) cfg["samples"][name(w)].push_back(sample(w));
    }

    double sample(Workload w) {
        const std::string target = w == Workload::exec ? o_.exec_target : fx_.plain();
        return run_loop(w, target, ops_[w], fx_.workload_cgroup());
    }

    json baseline_block() {
        json b = {{"open", json::array()}, {"read", json::array()}, {"exec", json::array()}};
        for (int r = 0; r < o_.reps; ++r)
            for (Workload w : kWorkloads) {
                const double v = sample(w);
                b[name(w)].push_back(v);
                baseline_["samples"][name(w)].push_back(v);
            }
        json m;
        for (Workload w : kWorkloads) m[name(w)] = median(b[name(w)].get<std::vector<double>>());
        return m;
    }

    void finish_baseline() {
        for (Workload w : kWorkloads)
            baseline_["median"][name(w)] = median(baseline_["samples"][name(w)].get<std::vector<double>>());
        auto& configs = out_["configs"];
        configs.insert(configs.begin(), baseline_);
    }

    static void medians(json& cfg) {
        for (Workload w : kWorkloads)
            cfg["median"][name(w)] = median(cfg["samples"][name(w)].get<std::vector<double>>());
    }

    // One extra sample of each workload with BPF run-time statistics on:
    // the average cost of each program loaded since the run began.
    json prog_stats_block() {
        json rows = json::array();
        StatsEnabled on;
        for (Workload w : kWorkloads) {
            auto before = prog_stats();
            (void)sample(w);
            auto after = prog_stats();
            for (const auto& [id, a] : after) {
                if (pre_progs_.count(id)) continue;
                const auto it = before.find(id);
                const uint64_t cnt = a.run_cnt - (it == before.end() ? 0 : it->second.run_cnt);
                const uint64_t ns = a.run_time_ns - (it == before.end() ? 0 : it->second.run_time_ns);
                if (cnt == 0) continue;
                rows.push_back({{"program", a.name}, {"type", a.type}, {"workload", name(w)}, {"run_cnt", cnt},
                                {"run_time_ns", ns}, {"avg_ns", double(ns) / double(cnt)}});
            }
        }
        return rows;
    }

    json fresh_config(const std::string& name, const std::string& kind) {
        return {{"name", name}, {"kind", kind}, {"error", nullptr},
                {"samples", {{"open", json::array()}, {"read", json::array()}, {"exec", json::array()}}}};
    }

    void bulwark_config(const PolicySet& ps) {
        say("config " + ps.name + ": baseline, then bulwarkd with " + std::to_string(ps.rules) + " rules");
        json cfg = fresh_config(ps.name, "bulwark");
        cfg["rules"] = ps.rules;
        cfg["description"] = ps.rules == 0 ? "bulwarkd, empty policy directory"
                                           : "bulwarkd, " + std::to_string(ps.rules) + " rules" +
                                                 (ps.name == "1k" ? " (realistic: files, directories, kill-on-open, "
                                                                    "audit mode, 10 cgroup scopes, 5 exec allowlists)"
                                                                  : " (the realistic policy plus deny-write files)");
        cfg["baseline_median"] = baseline_block();
        const std::string config = write_daemon_config(fx_, ps, o_.mode);
        testenv::Daemon d;
        const auto t0 = std::chrono::steady_clock::now();
        d.start(o_.bulwarkd, config, std::chrono::seconds(3600));
        cfg["startup_ms"] = since_ms(t0);
        const std::string sock = fx_.path("run/control.sock");
        auto status = bulwark::control_request(sock, {{"cmd", "status"}}, 60'000);
        if (!status) throw std::runtime_error("status: " + status.error().to_string());
        if (out_["env"]["mode"].is_null()) {
            out_["env"]["mode"] = (*status)["mode"];
            std::string hooks;
            for (const auto& h : (*status)["attached"]) hooks += (hooks.empty() ? "" : ", ") + h.get<std::string>();
            out_["env"]["notes"].push_back("bulwarkd attached: " + hooks);
        }
        const auto& m = (*status)["map_entries"];
        cfg["entries"] = m["files"].get<uint64_t>() + m["exec"].get<uint64_t>() + m["scope_cgroups"].get<uint64_t>();
        say("  bulwarkd ready in " + std::to_string(cfg["startup_ms"].get<double>()) + " ms, " +
            std::to_string(cfg["entries"].get<uint64_t>()) + " map entries; reloading");

        std::vector<double> reloads, parse, compile, maps;
        const int reload_reps = ps.rules >= 1'000'000 ? std::min(o_.reload_reps, 3) : o_.reload_reps;
        for (int i = 0; i < reload_reps; ++i) {
            auto r = bulwark::control_request(sock, {{"cmd", "reload"}}, 3'600'000);
            if (!r || !(*r).value("ok", false))
                throw std::runtime_error("reload of " + ps.name + " failed: " + (r ? r->dump() : r.error().to_string()));
            reloads.push_back((*r)["duration_ms"].get<double>());
            const auto& ph = (*r)["phases_ms"];
            parse.push_back(ph.value("parse", 0.0));
            compile.push_back(ph.value("compile", 0.0));
            maps.push_back(ph.value("maps", 0.0));
        }
        cfg["reload_ms"] = reloads;
        cfg["reload_median_ms"] = median(reloads);
        cfg["reload_phases_median_ms"] = {{"parse", median(parse)}, {"compile", median(compile)}, {"maps", median(maps)}};
        cfg["memory"] = {{"rss_kib", status_kib(d.pid(), "VmRSS")},
                         {"hwm_kib", status_kib(d.pid(), "VmHWM")},
                         {"bpf_map_kib", new_map_bytes(pre_maps_) / 1024}};
        say("  reload median " + std::to_string(cfg["reload_median_ms"].get<double>()) + " ms; measuring");

        measure(cfg);
        cfg["prog_stats"] = prog_stats_block();
        if (!ps.kill.empty())
            cfg["link_check"] = {{"hardlink", open_outcome(fx_.hardlink())}, {"symlink", open_outcome(fx_.symlink())}};
        medians(cfg);
        const int rc = d.stop();
        if (rc != 0) throw std::runtime_error("bulwarkd exited with status " + std::to_string(rc));
        out_["configs"].push_back(cfg);
    }

    void peer_config(const std::string& peer, const PolicySet& ps) {
        say("config " + peer + ": baseline, then " + peer);
        json cfg = fresh_config(peer, "peer");
        cfg["baseline_median"] = baseline_block();
        try {
            auto running = start_peer(peer, fx_, ps, o_.machine_wide_peers);
            cfg["description"] = running->info().description;
            cfg["rules"] = running->info().rules;
            measure(cfg);
            cfg["prog_stats"] = prog_stats_block();
            if (peer != "auditd")
                cfg["link_check"] = {{"hardlink", open_outcome(fx_.hardlink())},
                                     {"symlink", open_outcome(fx_.symlink())}};
            medians(cfg);
        } catch (const std::exception& e) {
            say("  " + peer + " could not be measured: " + e.what());
            cfg["error"] = e.what();
            cfg["samples"] = {{"open", json::array()}, {"read", json::array()}, {"exec", json::array()}};
        }
        out_["configs"].push_back(cfg);
    }

    // Audit lines about the storm file, and losses reported, appended to
    // the audit log since `offset`.
    struct LogCount {
        uint64_t delivered = 0, lost = 0;
        off_t offset = 0;
        std::string partial;
    };
    void count_log(const std::string& log, LogCount& c) {
        int fd = open(log.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return;
        std::string chunk(1 << 20, '\0');
        const std::string needle = "\"path\":\"" + fx_.storm_file() + "\"";
        for (;;) {
            const ssize_t n = pread(fd, chunk.data(), chunk.size(), c.offset);
            if (n <= 0) break;
            c.offset += n;
            c.partial.append(chunk.data(), size_t(n));
            size_t start = 0, nl;
            while ((nl = c.partial.find('\n', start)) != std::string::npos) {
                const std::string_view line(c.partial.data() + start, nl - start);
                if (line.find(needle) != std::string_view::npos) {
                    ++c.delivered;
                } else if (line.find("\"kind\":\"lost\"") != std::string_view::npos) {
                    const auto j = json::parse(line);
                    for (const char* k : {"lost_kernel", "lost_queue", "lost_write", "malformed"})
                        c.lost += j.value(k, uint64_t(0));
                }
                start = nl + 1;
            }
            c.partial.erase(0, start);
        }
        close(fd);
    }

    void storm() {
        const PolicySet ps = make_storm_policy(fx_);
        const std::string config = write_daemon_config(fx_, ps, o_.mode);
        const std::string log = fx_.path("audit-storm.jsonl");
        json st = {{"processes", o_.storm_procs}, {"ring_kib", 1024}, {"audit_flush", "batch"}, {"error", nullptr},
                   {"steps", json::array()}};
        testenv::Daemon d;
        try {
            d.start(o_.bulwarkd, config, std::chrono::seconds(600));
            for (double rate : o_.storm_rates) {
                const uint64_t events = rate > 0 ? std::clamp<uint64_t>(uint64_t(rate * 2), 20'000, o_.storm_events)
                                                 : o_.storm_events;
                const uint64_t per_proc = events / uint64_t(o_.storm_procs);
                say("storm: " + (rate > 0 ? std::to_string(uint64_t(rate)) + " opens/s" : std::string("max rate")) +
                    ", " + std::to_string(per_proc * uint64_t(o_.storm_procs)) + " violations");
                LogCount c;
                c.offset = static_cast<off_t>(fs::file_size(log));
                const double cpu_c0 = thread_cpu_s(d.pid(), "bw-consumer");
                const double cpu_s0 = thread_cpu_s(d.pid(), "bw-sink");
                const auto t0 = std::chrono::steady_clock::now();
                const StormRun run = run_storm(fx_.storm_file(), o_.storm_procs, per_proc, rate);
                // Wait until every violation is in the log or reported lost
                // (no progress for 5 s ends the wait: the rest is unaccounted).
                auto last_progress = std::chrono::steady_clock::now();
                auto last_line = last_progress;
                uint64_t seen = 0;
                for (;;) {
                    const uint64_t before = c.delivered;
                    count_log(log, c);
                    const auto now = std::chrono::steady_clock::now();
                    if (c.delivered != before) last_line = now;
                    if (c.delivered + c.lost != seen) {
                        seen = c.delivered + c.lost;
                        last_progress = now;
                    }
                    if (seen >= run.caused || now - last_progress > 5s) break;
                    std::this_thread::sleep_for(10ms);
                }
                const double secs = std::chrono::duration<double>(last_line - t0).count();
                json step = {{"offered_rate", rate > 0 ? json(rate) : json(nullptr)},
                             {"caused", run.caused},
                             {"delivered", c.delivered},
                             {"lost", c.lost},
                             {"unaccounted", run.caused > c.delivered + c.lost ? run.caused - c.delivered - c.lost : 0},
                             {"producer_seconds", run.seconds},
                             {"seconds", secs},
                             {"events_per_s", secs > 0 ? double(c.delivered) / secs : 0.0},
                             {"consumer_cpu_s", thread_cpu_s(d.pid(), "bw-consumer") - cpu_c0},
                             {"sink_cpu_s", thread_cpu_s(d.pid(), "bw-sink") - cpu_s0}};
                say("  " + step.dump());
                st["steps"].push_back(step);
                // Keep the tmpfs small: the daemon appends (O_APPEND), so a
                // truncated log just starts over.
                if (truncate(log.c_str(), 0) < 0) throw std::runtime_error("truncate " + log);
            }
            const int rc = d.stop();
            if (rc != 0) throw std::runtime_error("bulwarkd exited with status " + std::to_string(rc));
        } catch (const std::exception& e) {
            say(std::string("storm failed: ") + e.what());
            st["error"] = e.what();
        }
        out_["storm"] = st;
    }

    void save() {
        if (o_.out.empty()) return;
        std::ofstream f(o_.out + ".tmp");
        f << out_.dump(1) << "\n";
        f.close();
        fs::rename(o_.out + ".tmp", o_.out);
    }

public:
    const json& results() const { return out_; }

private:
    const Options& o_;
    Fixture fx_;
    std::map<Workload, uint64_t> ops_;
    json out_;
    json baseline_;
    std::set<uint32_t> pre_progs_, pre_maps_;
};

}  // namespace

int run_suite(const Options& o) {
    Suite s(o);
    s.run();
    if (o.out.empty() || o.where == "vm") {
        // The VM's serial console is the way out: bench/run.sh cuts this.
        std::cout << "BULWARK-BENCH-RESULTS-BEGIN\n" << s.results().dump() << "\nBULWARK-BENCH-RESULTS-END\n";
        std::cout.flush();
    }
    return 0;
}

}  // namespace bench
