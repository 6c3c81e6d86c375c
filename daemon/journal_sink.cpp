#include "daemon/journal_sink.h"

#include <sys/uio.h>

#include <systemd/sd-journal.h>

#include "daemon/log.h"

namespace bulwark {
namespace {

CoalesceKey key_of(const Event& ev, const Enrichment& enr) {
    return CoalesceKey{ev.raw.kind, ev.raw.verdict, ev.raw.generation, ev.raw.rule_id, enr.exe};
}

// syslog priorities: a denial is a warning, a kill is an error-level event,
// an audit-mode finding is a notice.
int priority_of(const Event& ev) {
    if (ev.raw.kind == BW_EV_TAMPER) return 2;  // an attempt on bulwark itself: crit
    switch (ev.raw.verdict) {
        case BW_VERDICT_KILLED: return 3;
        case BW_VERDICT_KILL_FAILED: return 2;
        case BW_VERDICT_DENIED: return 4;
        default: return 5;
    }
}

}  // namespace

const char* message_id_for(const Event& ev) {
    if (ev.raw.kind == BW_EV_PREEXISTING) return message_id::kPreexisting;
    if (ev.raw.kind == BW_EV_TAMPER) return message_id::kTamperRefused;
    if (ev.raw.verdict == BW_VERDICT_AUDITED) return message_id::kAudited;
    if (ev.raw.verdict == BW_VERDICT_KILL_FAILED) return message_id::kKillFailed;
    switch (ev.raw.kind) {
        case BW_EV_EXEC: return message_id::kExecDenied;
        case BW_EV_FILE_CHANGE: return message_id::kChangeDenied;
        case BW_EV_FILE_ACCESS: return message_id::kAccessDenied;
        default: return ev.raw.verdict == BW_VERDICT_KILLED ? message_id::kOpenKilled : message_id::kOpenDenied;
    }
}

std::vector<std::string> journal_fields(const Event& ev, const EventContext& ctx, const Enrichment& enr,
                                        uint64_t repeats) {
    const nlohmann::json rec = audit_record(ev, ctx, &enr);
    std::string message = summary_line(ev, ctx, &enr);
    if (repeats > 0) message += " (" + std::to_string(repeats) + " more times)";
    std::vector<std::string> f;
    f.push_back("MESSAGE=" + message);
    f.push_back(std::string("MESSAGE_ID=") + message_id_for(ev));
    f.push_back("PRIORITY=" + std::to_string(priority_of(ev)));
    f.push_back("SYSLOG_IDENTIFIER=bulwarkd");
    // Every attribute of the audit record, as BULWARK_<UPPER_KEY>.
    for (const auto& [key, value] : rec.items()) {
        if (key == "v" || key == "time") continue;
        std::string name = "BULWARK_";
        for (char c : key) name.push_back(static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c));
        if (value.is_null()) continue;
        f.push_back(name + "=" + (value.is_string() ? value.get<std::string>() : value.dump()));
    }
    f.push_back("BULWARK_COUNT=" + std::to_string(repeats + 1));
    return f;
}

void JournalSink::send(const std::vector<std::string>& fields) {
    std::vector<iovec> iov;
    iov.reserve(fields.size());
    for (const auto& s : fields) iov.push_back({const_cast<char*>(s.data()), s.size()});
    int r = sd_journal_sendv(iov.data(), static_cast<int>(iov.size()));
    if (r < 0) {
        if (failed_++ == 0) log::get("journal")->warn("{}", Error{"send to journald", -r}.to_string());
    } else {
        ++sent_;
    }
}

void JournalSink::write(const Event& ev, const EventContext& ctx, const Enrichment& enr) {
    // Bursts whose window ended are summarized by flush(), once per batch;
    // the coalescer keeps their counts until then.
    const auto key = key_of(ev, enr);
    if (!coalescer_.admit(key, Coalescer::Clock::now())) {
        ++coalesced_;
        auto& last = last_[key];
        last.ev = ev;
        last.ctx = ctx;
        last.enr = enr;
        last.rule.reset();
        if (ctx.rule) last.rule = *ctx.rule;
        return;
    }
    send(journal_fields(ev, ctx, enr));
}

void JournalSink::flush(bool all) {
    coalescer_.flush(
        Coalescer::Clock::now(),
        [this](const CoalesceKey& key, uint64_t repeats) {
            auto it = last_.find(key);
            if (it == last_.end()) return;
            // The rule is a copy: its generation may be gone by now.
            EventContext ctx = it->second.ctx;
            ctx.rule = it->second.rule ? &*it->second.rule : nullptr;
            auto fields = journal_fields(it->second.ev, ctx, it->second.enr, repeats);
            fields.push_back("BULWARK_COALESCED=1");
            send(fields);
            last_.erase(it);
        },
        all);
    if (all) last_.clear();
}

void JournalSink::lost(const std::string& message, const std::vector<std::string>& fields) {
    notice(message_id::kLost, 4, message, fields);
}

void JournalSink::notice(const char* message_id, int priority, const std::string& message,
                         const std::vector<std::string>& fields) {
    std::vector<std::string> f{"MESSAGE=" + message, std::string("MESSAGE_ID=") + message_id,
                               "PRIORITY=" + std::to_string(priority), "SYSLOG_IDENTIFIER=bulwarkd"};
    f.insert(f.end(), fields.begin(), fields.end());
    send(f);
}

}  // namespace bulwark
