// `flashcore compare A B --shape ...`: the same inputs through two variants (B may be the word
// `reference`). Each side runs as a `flashcore probe` child with the same seed and dumps its
// output to a scratch file; this process reads both dumps and computes A vs B itself, so a side
// that faults is reported with its verdict and CUDA is never initialised here.
#include <nlohmann/json.hpp>

#include <stdlib.h>

#include <filesystem>
#include <iostream>

#include "cli/commands.hpp"
#include "flashcore/error.hpp"
#include "flashcore/problem_names.hpp"
#include "flashcore/tools/compare.hpp"
#include "tools/json_codec.hpp"

namespace flashcore::cli {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// A scratch folder removed when the object dies.
class ScratchDir {
public:
    ScratchDir() {
        std::string pattern = (fs::temp_directory_path() / "flashcore-compare-XXXXXX").string();
        if (!::mkdtemp(pattern.data()))
            fail(Stage::io, ErrorCode::internal, "cannot create a scratch folder under " + fs::temp_directory_path().string());
        path_ = pattern;
    }
    ~ScratchDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

// Shows each probe on the progress line while it runs.
class ProgressRunner : public ProbeRunner {
public:
    explicit ProgressRunner(ProbeRunner& inner) : inner_(inner), progress_("probing", 2) {}
    ProbeResult run(const ProbeRequest& request) override {
        progress_.start(request.variant + " ...");
        ProbeResult r = inner_.run(request);
        progress_.step(request.variant);
        return r;
    }

private:
    ProbeRunner& inner_;
    Progress progress_;
};

json side_json(const CompareSide& side) {
    json j = side.result;
    j["requested"] = side.variant;
    return j;
}

void print_side(const char* label, const CompareSide& side) {
    const ProbeResult& r = side.result;
    std::cout << label << "  " << (r.variant.empty() ? side.variant : r.variant) << "\n   " << to_string(r.verdict);
    if (r.max_abs_err >= 0)
        std::cout << "  vs reference: max abs error " << format_error(r.max_abs_err) << ", mean " << format_error(r.mean_abs_err);
    if (r.us_graph >= 0) std::cout << "  graph " << format_us(r.us_graph) << " us/call";
    if (r.us_eager >= 0) std::cout << "  plain " << format_us(r.us_eager) << " us/call";
    std::cout << "\n";
    if (r.verdict != Verdict::ok && !r.message.empty()) std::cout << "   " << r.message << "\n";
}

struct Args {
    std::string a, b;
    ProblemFlags problem;
    CompileFlags compile;
    ProbeFlags probe;
    bool json = false;
    bool time = false;
};

int run_compare(Context& context, const Args& args) {
    AttentionProblem problem = args.problem.problem();
    // Bad flags and variant texts are bad usage (exit 2), found before any probe or GPU.
    ProbeRequest base = args.probe.base_request(problem, args.compile.options(), context);
    base.time = args.time;
    TemplateRegistry registry(context.config().template_dirs);
    for (const std::string& text : {args.a, args.b})
        parse_variant(text == "reference" ? std::string("reference_attention") : text, registry, problem_names(problem));

    ProcessProbeRunner process(args.probe.executable());
    ProgressRunner runner(process);
    ScratchDir scratch;
    CompareReport r = compare_variants(args.a, args.b, runner, base, scratch.path().string());

    if (args.json) {
        json doc = {{"problem", problem.to_string()}, {"seed", r.seed}, {"a", side_json(r.a)}, {"b", side_json(r.b)},
                    {"ok", r.ok()}};
        if (r.difference_known)
            doc["difference"] = {{"max_abs", r.difference.max_abs},
                                 {"mean_abs", r.difference.mean_abs},
                                 {"non_finite", r.difference.non_finite},
                                 {"elements", r.difference.compared},
                                 {"worst_index", r.difference.worst_index}};
        else doc["difference"] = nullptr;
        if (!r.note.empty()) doc["note"] = r.note;
        std::cout << doc.dump() << "\n";
    } else {
        std::cout << "problem " << problem.to_string() << ", seed " << r.seed << "\n";
        print_side("A", r.a);
        print_side("B", r.b);
        if (r.difference_known) {
            std::cout << "A vs B  max abs difference " << format_error(r.difference.max_abs) << ", mean "
                      << format_error(r.difference.mean_abs) << " over " << r.difference.compared << " elements";
            if (r.difference.non_finite)
                std::cout << ", " << r.difference.non_finite << " NaN/inf in A where B is finite (first at element "
                          << r.difference.worst_index << ")";
            std::cout << "\n";
        } else {
            std::cout << "A vs B  not computed: " << r.note << "\n";
        }
        std::cout << (r.ok() ? "both ok" : "NOT OK: at least one side did not pass") << "\n";
    }
    return r.ok() ? kOk : kWorkFailed;
}

}  // namespace

void register_compare(CLI::App& app, Context& context) {
    auto* cmd = app.add_subcommand(
        "compare", "run two variants on the same inputs (each in a child process) and compare their outputs");
    auto args = std::make_shared<Args>();
    cmd->add_option("a", args->a, "variant A: TEMPLATE[:name=value,...]")->required();
    cmd->add_option("b", args->b, "variant B, or `reference` (the reference_attention template)")->required();
    args->problem.add_to(*cmd, true);
    args->compile.add_to(*cmd);
    args->probe.add_to(*cmd);
    cmd->add_flag("--json", args->json, "one JSON object");
    cmd->add_flag("--time", args->time, "also time both sides (CUDA-graph replay and plain launches)");
    cmd->callback([&context, args] { context.exit_code = guarded(context, [&] { return run_compare(context, *args); }); });
}

}  // namespace flashcore::cli
