#include "flashcore/tools/probe_child.hpp"

#include <fstream>
#include <memory>

#include "flashcore/error.hpp"
#include "flashcore/tools/attention_harness.hpp"

namespace flashcore {

namespace {

std::string short_number(double value) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3g", value);
    return buf;
}

void write_dump(const std::string& path, const std::vector<float>& values) {
    std::ofstream file(path, std::ios::binary);
    file.write(reinterpret_cast<const char*>(values.data()), std::streamsize(values.size() * sizeof(float)));
    if (!file) fail(Stage::io, ErrorCode::internal, "cannot write " + path);
}

}  // namespace

bool run_probes(Runtime& runtime, const ProbeRequest& request, const std::vector<std::string>& variants,
                const std::function<void(const ProbeResult&)>& on_result) {
    std::unique_ptr<AttentionHarness> harness;  // one set of inputs for every variant
    bool all_ok = true;
    for (const std::string& text : variants) {
        ProbeResult r;
        r.variant = text;
        r.verdict = Verdict::ok;
        try {
            Variant variant = runtime.variant(text, &request.problem);
            r.variant = variant.to_string();
            RunOptions options;
            options.verify = request.verify;
            options.compile = request.compile;
            if (request.time) {
                options.eager_iterations = 20;
                options.graph_calls = 20;
            }
            if (!harness)
                harness = std::make_unique<AttentionHarness>(runtime, request.problem,
                                                             request.seed ? request.seed : fresh_seed(), request.device);
            r.seed = harness->seed();
            RunReport report = harness->run(variant, options);
            r.cache_source = report.cache_source;
            r.key = report.key;
            r.us_graph = report.us_graph;
            r.us_graph_min = report.us_graph_min;
            r.us_graph_max = report.us_graph_max;
            r.us_eager = report.us_eager;
            if (report.verified) {
                r.max_abs_err = report.error.max_abs;
                r.mean_abs_err = report.error.mean_abs;
                r.non_finite = static_cast<long long>(report.error.non_finite);
                r.tolerance = report.tolerance;
                r.reference = report.reference;
                r.compared = report.compared;
                if (!report.passed) {
                    r.verdict = Verdict::mismatch;
                    r.message = report.compared + " differs from " + report.reference + ": max abs error " +
                                short_number(report.error.max_abs) + " > " + short_number(report.tolerance) +
                                (report.error.non_finite ? ", " + std::to_string(report.error.non_finite) + " NaN/inf"
                                                         : "");
                }
            }
            if (!request.dump_path.empty()) write_dump(request.dump_path, harness->output());
        } catch (const Error& e) {
            r.verdict = verdict_for(e);
            r.message = e.what();
            r.error_code = to_string(e.code());
            r.error_stage = to_string(e.stage());
            r.log = e.info().log;
        }
        on_result(r);
        all_ok &= r.verdict == Verdict::ok;
        if (r.verdict == Verdict::launch_fault) break;
    }
    return all_ok;
}

}  // namespace flashcore
