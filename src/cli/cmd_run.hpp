// Report printing shared by `run`, `demo` and `compare`.
#pragma once

#include <nlohmann/json.hpp>

#include "flashcore/tools/attention_harness.hpp"

namespace flashcore::cli {

ReferenceKind parse_reference(const std::string& text);
nlohmann::json report_json(const RunReport& report, const AttentionHarness& harness);
void print_report(const RunReport& report, const AttentionHarness& harness);

}  // namespace flashcore::cli
