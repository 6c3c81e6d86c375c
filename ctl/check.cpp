// check.cpp — `bulwarkctl check FILE|DIR...`
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "ctl/commands.h"
#include "daemon/config.h"
#include "policy/policy.h"

namespace bulwark::ctl {
namespace {

struct CheckOptions {
    std::vector<std::string> paths;
    std::string config = kDefaultSettings;
    std::string cgroup2_root;
    bool json = false;
};

int run_check(const CheckOptions& o)
{
    namespace pol = bulwark::policy;

    // No paths: what bulwarkd would load -- its settings file (trusted, as
    // bulwarkd requires) and the policy directory they name, with
    // bulwarkd's own trust rules.
    std::vector<pol::Diagnostic> all;
    std::vector<std::string> paths = o.paths;
    const bool configured = paths.empty();
    if (configured) {
        auto cfg = load_config(o.config);
        for (auto& d : pol::check_trusted(o.config)) cfg.diagnostics.push_back(std::move(d));
        all = cfg.diagnostics;
        paths = {cfg.config.policy_dir};
        if (!o.json)
            std::cerr << "checking " << o.config << " and its policy directory " << cfg.config.policy_dir << "\n";
    }
    // Policies with parse errors are left out of `parsed.policies`; the rest
    // are compiled anyway so one run reports every problem it can.
    const pol::ParseResult parsed = pol::parse_policy_paths(paths, /*trusted_only=*/configured);
    pol::CompileOptions copts;
    copts.cgroup2_root = o.cgroup2_root;
    copts.btrfs_identity = pol::kernel_btf_knows_btrfs();  // as bulwarkd, started now, would load
    const pol::CompiledPolicy compiled = pol::compile(parsed.policies, copts);

    all.insert(all.end(), parsed.diagnostics.begin(), parsed.diagnostics.end());
    all.insert(all.end(), compiled.diagnostics.begin(), compiled.diagnostics.end());
    std::size_t errors = 0;
    std::size_t warnings = 0;
    for (const auto& d : all) {
        (d.severity == pol::Severity::error ? errors : warnings) += 1;
        std::cerr << d.to_string() << '\n';
    }
    // --json: the JSON document on stdout in every case (it says whether
    // the policy is valid); the human summary only for a valid policy.
    if (o.json)
        std::cout << pol::to_json(compiled, all) << '\n';
    if (errors > 0) {
        std::cerr << "bulwarkctl: check failed: " << errors << (errors == 1 ? " error, " : " errors, ") << warnings
                  << (warnings == 1 ? " warning" : " warnings") << '\n';
        return exit_invalid;
    }
    if (!o.json)
        std::cout << pol::summarize(compiled);
    return exit_ok;
}

}  // namespace

Command add_check_command(CLI::App& app)
{
    auto opts = std::make_shared<CheckOptions>();
    CLI::App* sub = app.add_subcommand("check", "Parse and compile policy files; print problems and a summary");
    sub->add_option("paths", opts->paths,
                    "Policy files, directories (their *.yaml and *.yml files), or - for standard input; "
                    "none: the settings file and the policy directory it names, as bulwarkd would load them")
        ->type_name("FILE|DIR|-");
    sub->add_option("--config", opts->config, "bulwarkd's settings file, checked when no path is given")
        ->capture_default_str();
    sub->add_flag("--json", opts->json,
                  "Print the compiled policy and every diagnostic as one JSON document on stdout "
                  "(also when invalid; keys in docs/policy.md)");
    sub->add_option("--cgroup2-root", opts->cgroup2_root,
                    "cgroup v2 mount used to find scope.units (default: from /proc/self/mountinfo)")
        ->type_name("DIR");
    sub->footer("Exit status: 0 valid (warnings allowed), 1 invalid, 2 usage error.");
    return Command{sub, [opts] { return run_check(*opts); }};
}

}  // namespace bulwark::ctl
