// The command line before CLI11 sees it: which verb was asked for, a suggestion for a
// misspelt one, `help VERB`, and usage errors as JSON when --json was given.
#pragma once

#include <string>
#include <vector>

namespace flashcore::cli {

// The first word that is not an option (nor the value of a global option that takes one),
// or "" when there is none. `value_options`: the global options followed by a value.
std::string find_verb(const std::vector<std::string>& args, const std::vector<std::string>& value_options);

// The known word closest to `word` (edit distance at most 2, or a prefix), else "".
std::string closest_word(const std::string& word, const std::vector<std::string>& known);

// "unknown command 'devcies'; did you mean 'devices'?" (or the list of verbs).
std::string unknown_verb_message(const std::string& word, const std::vector<std::string>& known);

// True when --json is among the arguments (any verb): usage errors then also go to stdout.
bool wants_json(const std::vector<std::string>& args);

// {"ok":false,"error":...,"error_code":...,"error_stage":...,"exit_code":...} on stdout.
void print_json_error(const std::string& message, const std::string& code, const std::string& stage, int exit_code);

}  // namespace flashcore::cli
