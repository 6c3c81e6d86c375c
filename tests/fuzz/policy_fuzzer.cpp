// policy_fuzzer — libFuzzer entry point: one input is one policy file's text.
//
// Runs what bulwarkctl check runs: parse, compile, the human summary and the
// JSON form.  Compiling only looks at the system (stat, lstat, readlink,
// realpath, statfs of the paths the input names); it never opens, creates or
// changes a file.  Units are resolved below a cgroup2 root that does not
// exist, so the real cgroup tree is not walked on every input.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "policy/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    using namespace bulwark::policy;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const ParseResult parsed = parse_policy_text(text, "fuzz.yaml");

    CompileOptions opts;
    opts.cgroup2_root = "/nonexistent/bulwark-fuzz-cgroup2-root";
    const CompiledPolicy compiled = compile(parsed.policies, opts);

    std::vector<Diagnostic> all = parsed.diagnostics;
    all.insert(all.end(), compiled.diagnostics.begin(), compiled.diagnostics.end());
    static volatile std::size_t sink = 0;
    sink = sink + summarize(compiled).size() + to_json(compiled, all).size();
    for (const auto& d : all)
        sink = sink + d.to_string().size();
    // Invariants the daemon relies on.
    if (compiled.ok()) {
        for (const auto& f : compiled.files)
            if (f.rule_id >= compiled.rules.size())
                __builtin_trap();
        for (const auto& a : compiled.allowlists)
            if (a.files.size() != a.paths.size() || a.files.size() != a.directories.size() || a.index >= 32)
                __builtin_trap();
    }
    if (parsed.ok() != !has_errors(parsed.diagnostics))
        __builtin_trap();
    return 0;
}
