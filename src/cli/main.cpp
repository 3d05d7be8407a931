// `flashcore`: build, run, compare and manage JIT-compiled attention kernels.
#include <CLI/CLI.hpp>

#include <iostream>

#include "cli/cli_common.hpp"
#include "cli/cli_usage.hpp"
#include "cli/commands.hpp"
#include "flashcore/error.hpp"
#include "flashcore/version.hpp"

namespace {

using namespace flashcore::cli;

// An empty value is a mistake (`--scale ''` from an unset shell variable), not "use the
// default": every option that takes a value refuses one.
void refuse_empty_values(CLI::App& app) {
    CLI::Validator non_empty(
        [](std::string& value) {
            return value.empty() ? std::string("an empty value is not allowed; give a value or leave the option out")
                                 : std::string();
        },
        std::string());
    for (CLI::Option* opt : app.get_options())
        if (opt->get_type_size() != 0) opt->check(non_empty);
    for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) refuse_empty_values(*sub);
}

std::vector<std::string> verb_names(CLI::App& app) {
    std::vector<std::string> names;
    for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) names.push_back(sub->get_name());
    return names;
}

int usage_error(const std::string& message, bool json) {
    std::cerr << "flashcore: " << message << "\nRun `flashcore help` or `flashcore help VERB` for more information.\n";
    if (json) print_json_error(message, "bad_input", "", kBadInput);
    return kBadInput;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"flashcore: JIT-compiled FlashAttention-style kernels (NVRTC + CUDA driver API)"};
    app.require_subcommand(1);
    app.fallthrough();  // global options may follow the verb
    app.set_help_all_flag("--help-all", "help for every verb");
    app.set_version_flag("--version", "flashcore " FLASHCORE_VERSION_STRING);
    Context context;
    app.add_option("--template-dir", context.template_dirs,
                   "read templates from this folder before the embedded ones (also FLASHCORE_TEMPLATE_DIR)");
    app.add_option("--cache-dir", context.cache_dir, "kernel cache folder (also FLASHCORE_CACHE_DIR)");
    app.add_option("--log-level", context.log_level, "trace|debug|info|warn|error|off (also FLASHCORE_LOG_LEVEL)");
    app.add_flag("-v,--verbose", context.verbose, "log cache lookups and show full compiler logs");
    app.footer("`flashcore help VERB` (or `flashcore VERB --help`) shows a verb's options.");

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
    refuse_empty_values(app);

    const std::vector<std::string> args(argv + 1, argv + argc);
    context.json = wants_json(args);
    const std::vector<std::string> verbs = verb_names(app);
    const std::string verb = find_verb(args, {"--template-dir", "--cache-dir", "--log-level"});
    if (verb == "help") {  // `help` or `help VERB`
        std::vector<std::string> rest(std::find(args.begin(), args.end(), "help") + 1, args.end());
        std::string topic = find_verb(rest, {});
        if (topic.empty()) {
            std::cout << app.help("flashcore");
            return kOk;
        }
        if (std::find(verbs.begin(), verbs.end(), topic) == verbs.end())
            return usage_error(unknown_verb_message(topic, verbs), context.json);
        std::cout << app.get_subcommand(topic)->help("flashcore");
        return kOk;
    }
    if (!verb.empty() && std::find(verbs.begin(), verbs.end(), verb) == verbs.end())
        return usage_error(unknown_verb_message(verb, verbs), context.json);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const bool asked_for_output = e.get_exit_code() == 0;  // --help, --version
        if (asked_for_output || !context.json) {
            int code = app.exit(e);
            return code == 0 ? kOk : kBadInput;
        }
        app.exit(e);  // the message on stderr as always, and the JSON object on stdout
        print_json_error(e.what(), "bad_input", "", kBadInput);
        return kBadInput;
    } catch (const flashcore::Error& e) {
        return report(e, context);
    } catch (const std::exception& e) {
        std::cerr << "flashcore: internal error: " << e.what() << "\n";
        if (context.json) print_json_error(std::string("internal error: ") + e.what(), "internal", "", kWorkFailed);
        return kWorkFailed;
    }
    return context.exit_code;
}
