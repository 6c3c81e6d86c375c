// lockout.h — the lockout guard (private to the policy library; the
// compiler runs it last, policy.h has essential_programs()).
#pragma once

#include <vector>

#include "policy/policy.h"

namespace bulwark::policy::detail {

// Adds to out.diagnostics an error (a warning when the policy says
// `allowLockout: true`) for each host-wide enforcing allowlist that refuses
// one of `essentials`, and each host-wide enforcing file rule on a system
// directory or a file the system rewrites.
void check_lockouts(const std::vector<Policy>& policies, const std::vector<EssentialProgram>& essentials,
                    CompiledPolicy& out);

}  // namespace bulwark::policy::detail
