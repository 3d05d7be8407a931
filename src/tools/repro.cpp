#include "flashcore/tools/repro.hpp"

#include <sstream>

#include "tools/json_codec.hpp"

namespace flashcore {

std::string shell_quote(const std::string& word) {
    bool plain = !word.empty();
    for (char ch : word) {
        const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                        std::string("_-./:=,+@%").find(ch) != std::string::npos;
        plain = plain && ok;
    }
    if (plain) return word;
    std::string out = "'";
    for (char ch : word) {
        if (ch == '\'') out += "'\\''";
        else out += ch;
    }
    return out + "'";
}

std::string repro_script(const std::string& executable, const ProbeRequest& request, const std::string& comment) {
    // A quoted here-document delimiter: the shell expands nothing inside the JSON.
    static const char* const kEnd = "FLASHCORE_PROBE_REQUEST";
    std::ostringstream s;
    s << "#!/bin/sh\n";
    if (!comment.empty()) {
        std::istringstream lines(comment);
        for (std::string line; std::getline(lines, line);) s << "# " << line << "\n";
    }
    s << "# Reruns one probe; prints its JSON verdict line (exit 0 = ok). Extra arguments are passed on,\n"
         "# e.g. ./repro.sh -v, or FLASHCORE_PROBE_WRAPPER='compute-sanitizer --tool memcheck' ./repro.sh\n"
         "set -e\n";
    for (const auto& [key, value] : request.env) s << "export " << key << "=" << shell_quote(value) << "\n";
    s << "exec ${FLASHCORE_PROBE_WRAPPER:-}";
    for (const auto& word : request.wrapper) s << " " << shell_quote(word);
    s << " " << shell_quote(executable);
    for (const auto& arg : probe_stdin_arguments()) s << " " << shell_quote(arg);
    s << " \"$@\" <<'" << kEnd << "'\n" << nlohmann::json(request).dump(2) << "\n" << kEnd << "\n";
    return s.str();
}

}  // namespace flashcore
