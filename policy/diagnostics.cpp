// diagnostics.cpp — Diagnostic formatting and the small enum-to-text helpers.
#include <algorithm>

#include "policy/policy.h"
#include "policy/text.h"

namespace bulwark::policy {

std::string Diagnostic::to_string() const
{
    std::string out = detail::format_location(loc);
    out += severity == Severity::error ? ": error: " : ": warning: ";
    out += message;
    return out;
}

bool has_errors(const std::vector<Diagnostic>& diags)
{
    return std::any_of(diags.begin(), diags.end(),
                       [](const Diagnostic& d) { return d.severity == Severity::error; });
}

std::string_view to_string(RuleKind k)
{
    switch (k) {
    case RuleKind::protect_write: return "protectedFiles(write)";
    case RuleKind::protect_all: return "protectedFiles(all)";
    case RuleKind::kill_on_open: return "killOnOpen";
    case RuleKind::exec_allowlist: return "execAllowlist";
    }
    return "unknown";
}

std::string_view to_string(PolicyMode m)
{
    return m == PolicyMode::audit ? "audit" : "enforce";
}

}  // namespace bulwark::policy
