// bulwarkctl — the bulwark control CLI.  main() only builds the command line
// and dispatches; each subcommand lives in its own file (see commands.h).
#include <vector>

#include <CLI/CLI.hpp>

#include "ctl/commands.h"

#ifndef BULWARK_VERSION
#define BULWARK_VERSION "unknown"
#endif

int main(int argc, char** argv)
{
    using namespace bulwark::ctl;

    CLI::App app{"bulwarkctl: check bulwark policies and control the bulwarkd daemon", "bulwarkctl"};
    app.set_version_flag("--version", "bulwarkctl " BULWARK_VERSION);
    app.require_subcommand(1);

    const std::vector<Command> commands = {
        add_check_command(app),
        add_status_command(app),
        add_reload_command(app),
        add_apply_command(app),
        add_confirm_command(app),
    };

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // --help / --version exit 0; every real parse error is a usage error.
        return app.exit(e) == 0 ? exit_ok : exit_usage;
    }
    for (const auto& c : commands)
        if (c.app->parsed())
            return c.run();
    return exit_usage;
}
