// parser_internal.h — what parser.cpp shares with files.cpp (private).
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "policy/policy.h"

namespace bulwark::policy::detail {

// Policy names seen so far (name -> where its `name:` value is), shared by
// every input of one parse so duplicates across files are found.
using NameRegistry = std::map<std::string, Location, std::less<>>;

// parse_policy_text with a caller-owned name registry.
ParseResult parse_text(std::string_view text, const std::string& filename, NameRegistry& names);

}  // namespace bulwark::policy::detail
