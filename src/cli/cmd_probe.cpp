// `flashcore probe`: the child side of crash isolation. Runs variants on the same inputs and
// prints one JSON verdict line per variant on stdout, as it goes; stops after a fault (the
// context is gone) and exits 0 only if all were ok. bisect, compare and tune start it with
// `--request-json -` and the request document on stdin; by hand it takes VARIANT... and flags.
#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>
#include <iterator>

#include "cli/commands.hpp"
#include "flashcore/error.hpp"
#include "flashcore/tools/probe_child.hpp"
#include "tools/json_codec.hpp"

namespace flashcore::cli {

namespace {

struct Args {
    std::vector<std::string> variants;
    std::string request_json;
    ProblemFlags problem;
    CompileFlags compile;
    std::uint64_t seed = 0;
    bool no_verify = false;
    bool time = false;
    std::string dump;
    int device = 0;
};

// The request and its variants, from the document or from the flags.
ProbeRequest read_request(const Args& args, std::vector<std::string>& variants) {
    if (!args.request_json.empty()) {
        std::string text;
        if (args.request_json == "-") {
            text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
        } else {
            std::ifstream in(args.request_json);
            if (!in) fail(Stage::io, ErrorCode::bad_input, "cannot read the probe request " + args.request_json);
            text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
        }
        try {
            nlohmann::json doc = nlohmann::json::parse(text);
            variants = probe_variants(doc);
            return doc.get<ProbeRequest>();
        } catch (const nlohmann::json::exception& e) {
            fail(Stage::validate, ErrorCode::bad_input, "probe request " + args.request_json + ": " + e.what());
        }
    }
    if (args.variants.empty())
        fail(Stage::validate, ErrorCode::bad_input, "probe needs VARIANT... (with --shape) or --request-json FILE|-");
    variants = args.variants;
    ProbeRequest request;
    request.variant = variants.front();
    request.problem = args.problem.problem();
    request.seed = args.seed;
    request.verify = !args.no_verify;
    request.time = args.time;
    request.dump_path = args.dump;
    request.compile = args.compile.options();
    request.device = args.device;
    return request;
}

// One verdict: the JSON line on stdout, and for a verdict other than ok its reason on stderr
// (every failure says why there; a parent reads only stdout).
void print_verdict(const ProbeResult& r) {
    std::cout << nlohmann::json(r).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
    if (r.verdict != Verdict::ok)
        std::cerr << "flashcore: probe " << r.variant << ": " << to_string(r.verdict)
                  << (r.message.empty() ? "" : ": " + r.message) << "\n";
}

}  // namespace

void register_probe(CLI::App& app, Context& context) {
    auto* cmd = app.add_subcommand("probe", "run one variant and print a JSON verdict (the child of bisect/compare/tune)");
    auto args = std::make_shared<Args>();
    cmd->add_option("variants", args->variants, "TEMPLATE[:name=value,...] (several: one verdict line each)");
    cmd->add_option("--request-json", args->request_json,
                    "read the request (variants, problem, seed, compile options...) as one JSON document from FILE, "
                    "or - for stdin, instead of the other arguments");
    args->problem.add_to(*cmd, false);
    args->compile.add_to(*cmd);
    cmd->add_option("--seed", args->seed, "input seed (default: fresh)");
    cmd->add_flag("--no-verify", args->no_verify, "skip the reference check");
    cmd->add_flag("--time", args->time, "time it: CUDA-graph replay of 20 calls and plain launches, median of 7");
    cmd->add_option("--dump", args->dump, "write the output as float32 [B,Hq,Sq,D] to this file");
    cmd->add_option("--device", args->device, "GPU ordinal");
    cmd->callback([&context, args] {
        std::vector<std::string> variants;
        ProbeRequest request;
        try {
            request = read_request(*args, variants);
        } catch (const Error& e) {
            if (variants.empty()) variants = args->variants;
            if (variants.empty()) {  // nothing to give a verdict to: a usage error
                context.exit_code = report(e, context);
                return;
            }
            // A problem the flags cannot express is each variant's verdict, as a bad variant is.
            for (const auto& text : variants) {
                ProbeResult r;
                r.variant = text;
                r.verdict = verdict_for(e);
                r.message = e.what();
                r.error_code = to_string(e.code());
                r.error_stage = to_string(e.stage());
                print_verdict(r);
            }
            context.exit_code = kWorkFailed;
            return;
        }
        bool all_ok = false;
        try {
            all_ok = run_probes(context.runtime(), request, variants,
                                [](const ProbeResult& r) { print_verdict(r); });
        } catch (const Error& e) {  // the runtime itself could not start (configuration)
            context.exit_code = report(e, context);
            return;
        }
        context.exit_code = all_ok ? kOk : kWorkFailed;
    });
}

}  // namespace flashcore::cli
