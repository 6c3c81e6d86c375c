#include "daemon/break_glass.h"

#include <fstream>
#include <iterator>

namespace bulwark {

bool break_glass_in(std::string_view cmdline) {
    size_t pos = 0;
    while (pos < cmdline.size()) {
        const size_t start = cmdline.find_first_not_of(" \t\n", pos);
        if (start == std::string_view::npos) break;
        const size_t end = cmdline.find_first_of(" \t\n", start);
        const std::string_view word = cmdline.substr(start, end == std::string_view::npos ? end : end - start);
        if (word == kBreakGlassParam) return true;
        pos = end == std::string_view::npos ? cmdline.size() : end;
    }
    return false;
}

bool break_glass_this_boot() {
    std::ifstream in("/proc/cmdline");
    const std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return break_glass_in(cmdline);
}

std::string break_glass_message() {
    return std::string(kBreakGlassParam) +
           " is on the kernel command line (break-glass): bulwarkd does not start and nothing is enforced this "
           "boot; fix the policy (bulwarkctl check), then boot without it";
}

}  // namespace bulwark
