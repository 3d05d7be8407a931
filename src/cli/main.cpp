// `flashcore`: build, run, compare and manage JIT-compiled attention kernels.
#include <CLI/CLI.hpp>

#include <iostream>

#include "cli/cli_common.hpp"
#include "cli/commands.hpp"
#include "flashcore/error.hpp"

int main(int argc, char** argv) {
    using namespace flashcore::cli;
    CLI::App app{"flashcore: JIT-compiled FlashAttention-style kernels (NVRTC + CUDA driver API)"};
    app.require_subcommand(1);
    app.fallthrough();  // global options may follow the verb
    app.set_help_all_flag("--help-all", "help for every verb");
    Context context;
    app.add_option("--template-dir", context.template_dirs,
                   "read templates from this folder before the embedded ones (also FLASHCORE_TEMPLATE_DIR)");
    app.add_option("--cache-dir", context.cache_dir, "kernel cache folder (also FLASHCORE_CACHE_DIR)");
    app.add_option("--log-level", context.log_level, "trace|debug|info|warn|error|off (also FLASHCORE_LOG_LEVEL)");
    app.add_flag("-v,--verbose", context.verbose, "log cache lookups and show full compiler logs");

    register_devices(app, context);
    register_templates(app, context);
    register_build(app, context);
    register_run(app, context);
    register_cache(app, context);
    register_demo(app, context);
    register_probe(app, context);
    register_compare(app, context);
    register_bisect(app, context);
    register_bench(app, context);
    register_tune(app, context);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        int code = app.exit(e);
        return code == 0 ? kOk : kBadInput;
    } catch (const flashcore::Error& e) {
        return report(e, context.verbose);
    } catch (const std::exception& e) {
        std::cerr << "flashcore: internal error: " << e.what() << "\n";
        return kWorkFailed;
    }
    return context.exit_code;
}
