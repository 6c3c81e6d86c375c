// text.h — small text helpers shared by the policy library (private).
#pragma once

#include <string>
#include <string_view>

#include "policy/policy.h"

namespace bulwark::policy::detail {

// `s` in double quotes for messages: control characters, '"' and '\' are
// escaped and very long values are cut (hostile input must not flood a
// terminal).
std::string quote(std::string_view s);

// "FILE:LINE:COL" (":LINE:COL" left out when line == 0).
std::string format_location(const Location& loc);

}  // namespace bulwark::policy::detail
