#include "cli/cli_usage.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <iostream>

namespace flashcore::cli {

std::string find_verb(const std::vector<std::string>& args, const std::vector<std::string>& value_options) {
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--") return i + 1 < args.size() ? args[i + 1] : "";
        if (a.size() > 1 && a[0] == '-') {
            if (a.find('=') == std::string::npos &&
                std::find(value_options.begin(), value_options.end(), a) != value_options.end())
                ++i;  // its value
            continue;
        }
        return a;
    }
    return {};
}

namespace {

std::size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

// A swap of two neighbours ("devcies") is one slip of a typist, one edit.
bool is_transposition(const std::string& a, const std::string& b) {
    if (a.size() != b.size() || a == b) return false;
    std::size_t i = 0;
    while (a[i] == b[i]) ++i;
    return i + 1 < a.size() && a[i] == b[i + 1] && a[i + 1] == b[i] && a.substr(i + 2) == b.substr(i + 2);
}

}  // namespace

std::string closest_word(const std::string& word, const std::vector<std::string>& known) {
    std::string best;
    std::size_t best_distance = 3;  // farther than 2 edits is no suggestion
    for (const auto& k : known) {
        std::size_t d = is_transposition(word, k) ? 1 : edit_distance(word, k);
        if (word.size() >= 2 && k.rfind(word, 0) == 0) d = std::min<std::size_t>(d, 1);  // "tem" -> "templates"
        if (d < best_distance) best = k, best_distance = d;
    }
    return best;
}

std::string unknown_verb_message(const std::string& word, const std::vector<std::string>& known) {
    std::string message = "unknown command '" + word + "'";
    if (std::string near = closest_word(word, known); !near.empty()) return message + "; did you mean '" + near + "'?";
    message += "; commands:";
    for (std::size_t i = 0; i < known.size(); ++i) message += (i ? ", " : " ") + known[i];
    return message;
}

bool wants_json(const std::vector<std::string>& args) {
    for (const auto& a : args) {
        if (a == "--") break;
        if (a == "--json") return true;
    }
    return false;
}

void print_json_error(const std::string& message, const std::string& code, const std::string& stage, int exit_code) {
    nlohmann::json j = {{"ok", false}, {"error", message}, {"error_code", code}, {"exit_code", exit_code}};
    j["error_stage"] = stage.empty() ? nlohmann::json(nullptr) : nlohmann::json(stage);
    std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
}

}  // namespace flashcore::cli
