// `flashcore templates`: every template with its parameters, values and defaults.
#include <nlohmann/json.hpp>

#include <iostream>

#include "cli/commands.hpp"

namespace flashcore::cli {

void register_templates(CLI::App& app, Context& context) {
    auto* cmd = app.add_subcommand("templates", "list kernel templates and their parameters");
    auto json_out = std::make_shared<bool>(false);
    auto show_hidden = std::make_shared<bool>(false);
    cmd->add_flag("--json", *json_out, "one JSON object per template per line");
    cmd->add_flag("--hidden", *show_hidden, "include test-only parameters");
    cmd->callback([&context, json_out, show_hidden] {
        context.exit_code = guarded(context, [&] {
            const TemplateRegistry& registry = context.runtime().templates();
            for (const auto& id : registry.template_ids()) {
                auto schema = registry.schema(id);
                nlohmann::json params = nlohmann::json::array();
                if (!*json_out) std::cout << id << " — " << schema->summary << "\n";
                for (const auto& p : schema->params) {
                    if (p.hidden && !*show_hidden) continue;
                    nlohmann::json values = nlohmann::json::array();
                    for (const auto& v : p.values) {
                        if (auto* i = std::get_if<std::int64_t>(&v)) values.push_back(*i);
                        else values.push_back(std::get<std::string>(v));
                    }
                    params.push_back({{"name", p.name},
                                      {"type", p.type == ParamType::integer ? "int" : "enum"},
                                      {"values", values},
                                      {"default", to_string(p.default_value)},
                                      {"bind", p.bind},
                                      {"doc", p.doc}});
                    if (!*json_out)
                        std::cout << "  " << p.name << " " << p.allowed_text() << " default " << to_string(p.default_value)
                                  << (p.bind.empty() ? "" : " (follows problem " + p.bind + ")") << "\n      " << p.doc
                                  << "\n";
                }
                if (*json_out) {
                    nlohmann::json j = {{"template", id},
                                        {"summary", schema->summary},
                                        {"kernel", schema->kernel},
                                        {"min_sm", schema->min_sm},
                                        {"params", params},
                                        {"constraints", schema->constraints.size()}};
                    if (schema->max_sm) j["max_sm"] = schema->max_sm;
                    std::cout << j.dump() << "\n";
                } else {
                    std::cout << "  " << schema->constraints.size() << " constraints; min sm_" << schema->min_sm
                              << (schema->max_sm ? ", max sm_" + std::to_string(schema->max_sm) : "") << "\n";
                }
            }
            return kOk;
        });
    });
}

}  // namespace flashcore::cli
