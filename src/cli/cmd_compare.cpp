// `flashcore compare A B --shape ...`: the same inputs through two variants (B may be the word
// `reference`). Each side runs as a `flashcore probe` child with the same seed and dumps its
// output to a scratch file; this process reads both dumps and computes A vs B itself, so a side
// that faults is reported with its verdict and CUDA is never initialised here.
#include <nlohmann/json.hpp>

#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli/commands.hpp"
#include "flashcore/attention_harness.hpp"
#include "flashcore/bisect.hpp"
#include "flashcore/compare.hpp"
#include "flashcore/error.hpp"

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

// Prints a line on stderr (when it is a terminal) before each probe.
class ProgressRunner : public ProbeRunner {
public:
    explicit ProgressRunner(ProbeRunner& inner) : inner_(inner), tty_(stderr_is_terminal()) {}
    ProbeResult run(const ProbeRequest& request) override {
        ++count_;
        if (tty_) {
            std::fprintf(stderr, "\r\033[K[%d/2] probing %s ...", count_, request.variant.c_str());
            std::fflush(stderr);
        }
        ProbeResult r = inner_.run(request);
        if (tty_) {
            std::fprintf(stderr, "\r\033[K");
            std::fflush(stderr);
        }
        return r;
    }

private:
    ProbeRunner& inner_;
    bool tty_;
    int count_ = 0;
};

json side_json(const CompareSide& side) {
    json j = json::parse(to_json(side.result));
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
    std::uint64_t seed = 0;
    bool json = false;
    bool time = false;
    double timeout_s = 120;
    int device = 0;
    std::string probe_executable;
};

int run_compare(Context& context, const Args& args) {
    AttentionProblem problem = args.problem.problem();
    args.compile.options();  // bad flags are bad usage, before any probe
    if (args.timeout_s <= 0) fail(Stage::validate, ErrorCode::bad_input, "--timeout must be > 0 seconds");
    // Check both variant texts here (exit 2 for a typo), without touching a GPU.
    TemplateRegistry registry(context.config().template_dirs);
    for (const std::string& text : {args.a, args.b})
        parse_variant(text == "reference" ? std::string("reference_attention") : text, registry, problem_names(problem));

    ProbeRequest base;
    base.problem = problem;
    base.seed = args.seed ? args.seed : fresh_seed();
    base.time = args.time;
    base.timeout = std::chrono::milliseconds(static_cast<long long>(args.timeout_s * 1000));
    base.extra_args = args.compile.probe_args();
    if (args.device != 0) base.extra_args.insert(base.extra_args.end(), {"--device", std::to_string(args.device)});
    base.env = context.probe_env();

    ProcessProbeRunner process(args.probe_executable.empty() ? ProcessProbeRunner::default_probe_executable()
                                                              : args.probe_executable);
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
    cmd->add_option("--seed", args->seed, "input seed for both sides (default: fresh, printed)");
    cmd->add_flag("--json", args->json, "one JSON object");
    cmd->add_flag("--time", args->time, "also time both sides (CUDA-graph replay and plain launches)");
    cmd->add_option("--timeout", args->timeout_s, "seconds each side may take (compile included)")->capture_default_str();
    cmd->add_option("--device", args->device, "GPU ordinal")->capture_default_str();
    // Hidden: the program run as `... probe` (default: this one). For tests and mixed builds.
    cmd->add_option("--probe-executable", args->probe_executable)->group("");
    cmd->callback([&context, args] { context.exit_code = guarded(context, [&] { return run_compare(context, *args); }); });
}

}  // namespace flashcore::cli
