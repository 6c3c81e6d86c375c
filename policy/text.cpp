// text.cpp — quoting and location formatting for messages.
#include "policy/text.h"

#include <cstdio>

namespace bulwark::policy::detail {

std::string quote(std::string_view s)
{
    constexpr std::size_t max_shown = 200;
    std::string out = "\"";
    std::size_t shown = 0;
    for (char c : s) {
        if (shown++ == max_shown) {
            out += "...";
            break;
        }
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\t') {
            out += "\\t";
        } else if (u < 0x20 || u == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(u));
            out += buf;
        } else {
            out += c;
        }
    }
    out += '"';
    return out;
}

std::string format_location(const Location& loc)
{
    std::string out = loc.file;
    if (loc.line > 0) {
        out += ':' + std::to_string(loc.line);
        if (loc.column > 0)
            out += ':' + std::to_string(loc.column);
    }
    return out;
}

}  // namespace bulwark::policy::detail
