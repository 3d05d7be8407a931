#include "flashcore/tools/compare.hpp"

#include <filesystem>
#include <fstream>

#include "flashcore/error.hpp"

namespace flashcore {

namespace fs = std::filesystem;

std::vector<float> read_float32_file(const std::string& path) {
    std::ifstream file(path, std::ios::binary | std::ios::ate);
    if (!file) fail(Stage::io, ErrorCode::internal, "cannot read " + path);
    std::streamsize bytes = file.tellg();
    if (bytes < 0 || bytes % 4 != 0)
        fail(Stage::io, ErrorCode::internal, path + " is not a float32 file (" + std::to_string(bytes) + " bytes)");
    std::vector<float> out(static_cast<size_t>(bytes) / 4);
    file.seekg(0);
    if (!out.empty() && !file.read(reinterpret_cast<char*>(out.data()), bytes))
        fail(Stage::io, ErrorCode::internal, "cannot read " + path);
    return out;
}

CompareReport compare_variants(const std::string& a, const std::string& b, ProbeRunner& runner, const ProbeRequest& base,
                               const std::string& scratch_dir) {
    if (base.seed == 0)
        fail(Stage::validate, ErrorCode::bad_input, "compare needs a fixed, non-zero seed so both sides see the same inputs");
    auto resolve_word = [](const std::string& text) { return text == "reference" ? std::string("reference_attention") : text; };
    CompareReport report;
    report.seed = base.seed;
    auto run_side = [&](CompareSide& side, const std::string& text, const char* file) {
        side.variant = resolve_word(text);
        side.dump_path = (fs::path(scratch_dir) / file).string();
        std::error_code ec;
        fs::remove(side.dump_path, ec);  // a stale dump must not pass for this run's output
        ProbeRequest request = base;
        request.variant = side.variant;
        request.verify = true;
        request.dump_path = side.dump_path;
        try {
            side.result = runner.run(request);
        } catch (const std::exception& e) {
            side.result = ProbeResult{};
            side.result.message = std::string("the probe runner failed: ") + e.what();
        }
        if (side.result.variant.empty()) side.result.variant = side.variant;
    };
    run_side(report.a, a, "a.f32");
    run_side(report.b, b, "b.f32");

    auto has_output = [](const CompareSide& side) {
        return side.result.verdict == Verdict::ok || side.result.verdict == Verdict::mismatch;
    };
    if (!has_output(report.a) || !has_output(report.b)) {
        std::string who = !has_output(report.a) ? "A" : "B";
        const ProbeResult& r = who == "A" ? report.a.result : report.b.result;
        report.note = who + " did not produce an output (" + to_string(r.verdict) + ")";
        return report;
    }
    try {
        std::vector<float> out_a = read_float32_file(report.a.dump_path);
        std::vector<float> out_b = read_float32_file(report.b.dump_path);
        const std::size_t expected = base.problem.q_elements();
        if (out_a.size() != expected || out_b.size() != expected) {
            report.note = "output sizes differ from B*Hq*Sq*D = " + std::to_string(expected) + " (A " +
                          std::to_string(out_a.size()) + ", B " + std::to_string(out_b.size()) + " floats)";
            return report;
        }
        report.difference = compare(out_a, out_b);
        report.difference_known = true;
    } catch (const Error& e) {
        report.note = e.info().message;
    }
    return report;
}

}  // namespace flashcore
