// One registration function per verb; each lives in its own cmd_<verb>.cpp.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/cli_common.hpp"

namespace flashcore::cli {

void register_devices(CLI::App& app, Context& context);
void register_templates(CLI::App& app, Context& context);
void register_build(CLI::App& app, Context& context);
void register_run(CLI::App& app, Context& context);
void register_cache(CLI::App& app, Context& context);
void register_demo(CLI::App& app, Context& context);
void register_probe(CLI::App& app, Context& context);
void register_compare(CLI::App& app, Context& context);
void register_bisect(CLI::App& app, Context& context);
void register_bench(CLI::App& app, Context& context);
void register_tune(CLI::App& app, Context& context);

}  // namespace flashcore::cli
