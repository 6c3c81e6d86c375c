// break_glass.h — `bulwark.disable=1` on the kernel command line: a person
// at the console who is locked out boots with nothing enforced (bulwarkd
// refuses to start, exit kExitDisabled; bulwarkctl status says why).
// Shared by bulwarkd and bulwarkctl (bulwark_control).
#pragma once

#include <string>
#include <string_view>

namespace bulwark {

inline constexpr std::string_view kBreakGlassParam = "bulwark.disable=1";

// Whether `cmdline` (as /proc/cmdline has it) holds the parameter as one
// of its words.  The kernel passes words it does not know to PID 1's
// environment and leaves them in /proc/cmdline.
bool break_glass_in(std::string_view cmdline);

// The same for this boot's /proc/cmdline (false when unreadable).
bool break_glass_this_boot();

// What bulwarkd logs and bulwarkctl status prints.
std::string break_glass_message();

}  // namespace bulwark
