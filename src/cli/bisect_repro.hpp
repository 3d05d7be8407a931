// The repro folder `flashcore bisect` leaves behind: summary, verdicts, logs, the rendered
// source of each culprit, compile flags, device facts and a repro.sh per culprit.
#pragma once

#include <filesystem>
#include <string>

#include "flashcore/template_registry.hpp"
#include "flashcore/tools/bisect.hpp"
#include "flashcore/tools/device_query.hpp"

namespace flashcore::cli {

struct ReproContext {
    std::filesystem::path dir;          // created if missing
    std::string executable;             // the flashcore the scripts run
    const TemplateRegistry* registry = nullptr;
    std::string cuda_home;              // for the NVRTC arguments in compile_options.txt
    ProbeRequest base;                  // every probe's request (variant replaced)
    DevicesReport devices;
    int device = 0;
    double timeout_s = 0;
};

// Writes the folder; returns report.json's document (also written there).
std::string write_repro_folder(const ReproContext& context, const BisectReport& report, const std::string& sanitizer_json);

// The text of one probe's log file: variant, verdict, exit status, error, compiler log, output.
std::string probe_log_text(const std::string& variant, const ProbeResult& result);

}  // namespace flashcore::cli
