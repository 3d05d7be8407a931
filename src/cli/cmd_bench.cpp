// `flashcore bench`: the benchmark verb (not a test). Times variants the way
// ../shared/bench/sdpa_anchor.py times PyTorch SDPA — CUDA events around a CUDA graph of 20
// back-to-back calls, median of 7, after warm-up, plus back-to-back plain launches — and
// prints rows in its JSON-lines schema. `--overhead` measures the host cost of a warm `auto`
// call against a bare cuLaunchKernel.
#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/cmd_run.hpp"
#include "cli/commands.hpp"
#include "core/text.hpp"
#include "flashcore/error.hpp"
#include "flashcore/selection/auto.hpp"
#include "flashcore/tools/attention_harness.hpp"
#include "flashcore/tools/bench.hpp"

namespace flashcore::cli {

namespace {

// Host time per call of a warm `auto` attention call vs a bare launch_raw (cuLaunchKernel, or
// cuLaunchKernelEx for a programmatic-launch variant) of the same kernel with the same
// arguments. Batches of 200 launches stay below the driver's queue depth, so the host never
// waits for the GPU inside a timed batch.
int measure_overhead(Runtime& rt, const AttentionProblem& problem, std::ostream& out) {
    Device& dev = rt.device(0);
    AttentionHarness harness(rt, problem, fresh_seed());  // inputs and buffers
    std::vector<unsigned char> bytes(problem.q_elements() * dtype_bytes(problem.dtype));
    DeviceBuffer q(dev, bytes.size()), k(dev, problem.kv_elements() * dtype_bytes(problem.dtype)),
        v(dev, problem.kv_elements() * dtype_bytes(problem.dtype)), o(dev, bytes.size());
    q.upload(harness.inputs().q_bytes.data(), harness.inputs().q_bytes.size());
    k.upload(harness.inputs().k_bytes.data(), harness.inputs().k_bytes.size());
    v.upload(harness.inputs().v_bytes.data(), harness.inputs().v_bytes.size());
    AttentionBuffers buffers{q.get(), k.get(), v.get(), o.get()};
    Stream stream(dev);
    attention(rt, problem, buffers, stream.get());  // resolve, compile, load: not timed
    stream.synchronize();
    Selection chosen = resolve(rt, problem);
    LoadedKernel& kernel = rt.kernel(rt.variant(chosen.variant, &problem));
    Runtime::AttentionPlan plan = rt.plan(kernel, problem);
    // The bare launch gets its own zeroed workspace (split-KV counters reset themselves).
    DeviceBuffer workspace(dev, plan.dims.workspace_bytes);
    if (plan.dims.workspace_bytes) workspace.fill_u8(0);
    FcAttentionParams params = make_attention_params(problem, buffers, workspace.get());
    void* params_only[] = {&params};
    // Tensor-map arguments are encoded once, outside the timed loop (the warm path encodes none).
    void** args = plan.args ? plan.args->bind(params, problem, dev) : params_only;
    constexpr int kBatch = 200, kRounds = 31;
    std::vector<double> bare, through_auto;
    using clock = std::chrono::steady_clock;
    for (int round = 0; round < kRounds; ++round) {
        stream.synchronize();
        auto t0 = clock::now();
        for (int i = 0; i < kBatch; ++i)
            dev.check(launch_raw(kernel.function(), plan.dims, args, stream.get()), "bare launch");
        auto t1 = clock::now();
        stream.synchronize();
        auto t2 = clock::now();
        for (int i = 0; i < kBatch; ++i) attention(rt, problem, buffers, stream.get());
        auto t3 = clock::now();
        if (round == 0) continue;  // first round warms caches
        bare.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count() / kBatch);
        through_auto.push_back(std::chrono::duration<double, std::micro>(t3 - t2).count() / kBatch);
    }
    stream.synchronize();
    double b = median(bare), a = median(through_auto);
    nlohmann::ordered_json row = {{"impl", "flashcore-overhead"},   {"variant", chosen.variant},
                                  {"problem", problem.to_string()}, {"us_host_bare_launch", b},
                                  {"us_host_auto_call", a},         {"us_overhead", a - b},
                                  {"device", dev.info().name}};
    out << row.dump() << std::endl;
    return kOk;
}

}  // namespace

void register_bench(CLI::App& app, Context& context) {
    auto* cmd = app.add_subcommand("bench", "benchmark variants on the anchor shapes; JSON lines in sdpa_anchor.py's schema");
    struct Args {
        std::string set = "mission";
        std::vector<std::string> shapes;
        bool causal = false;
        std::vector<std::string> variants{"auto"};
        std::string dtypes = "float16,bfloat16";
        std::string out;
        bool no_verify = false;
        std::string reference = "auto";
        bool overhead = false;
        bool list = false;
    };
    auto args = std::make_shared<Args>();
    cmd->add_option("--set", args->set, "mission | small | sweep | all | decode | headdims | serving")->capture_default_str();
    cmd->add_option("--shape", args->shapes, "B,Hq,Hkv,Sq,Skv,D instead of a set (repeatable)");
    cmd->add_flag("--causal", args->causal, "with --shape: causal");
    cmd->add_option("--variant", args->variants, "auto or a variant (repeatable)")->capture_default_str();
    cmd->add_option("--dtypes", args->dtypes,
                    "comma-separated, each as --dtype takes it: f16|float16, bf16|bfloat16, f32|float32 (rows use torch's names)")
        ->capture_default_str();
    cmd->add_option("--out", args->out, "also append the rows to this file");
    cmd->add_flag("--no-verify", args->no_verify, "skip the accuracy check (max_abs_err null)");
    cmd->add_option("--reference", args->reference, "auto | cpu | gpu")->capture_default_str();
    cmd->add_flag("--overhead", args->overhead, "measure host overhead of a warm auto call vs a bare launch");
    cmd->add_flag("--list", args->list, "print the problems of the set and exit (no GPU needed)");
    cmd->callback([&context, args] {
        context.exit_code = guarded(context, [&] {
            std::vector<AttentionProblem> problems;
            if (!args->shapes.empty()) {
                for (const auto& s : args->shapes) {
                    AttentionProblem p = AttentionProblem::from_shape(s);
                    p.causal = args->causal;
                    problems.push_back(p);
                }
            } else {
                problems = bench_shape_set(args->set);
            }
            std::vector<DType> dtypes;
            for (const std::string& item : detail::split(args->dtypes, ',')) {
                if (item.empty())
                    fail(Stage::validate, ErrorCode::bad_input,
                         "--dtypes '" + args->dtypes + "': an empty item (a trailing or doubled comma?)");
                dtypes.push_back(parse_dtype(item));
            }
            std::ofstream sink;
            if (!args->out.empty()) {
                sink.open(args->out, std::ios::app);
                if (!sink) fail(Stage::io, ErrorCode::bad_input, "cannot open " + args->out + " for appending");
            }
            if (args->list) {
                for (DType d : dtypes)
                    for (AttentionProblem p : problems) {
                        p.dtype = d;
                        BenchRow row{"flashcore-auto", "", "", p, -1, -1, std::nullopt, "", ""};
                        std::cout << bench_row_json(row) << "\n";
                    }
                return kOk;
            }
            Runtime& rt = context.runtime();
            if (args->overhead) {
                AttentionProblem p = problems.front();
                p.dtype = dtypes.front();
                return measure_overhead(rt, p, std::cout);
            }
            const std::string device = rt.device(0).info().name;
            int code = kOk;
            for (DType d : dtypes) {
                for (AttentionProblem p : problems) {
                    p.dtype = d;
                    for (const auto& requested : args->variants) {
                        Selection chosen = resolve(rt, p, requested);
                        Variant v = rt.variant(chosen.variant, &p);
                        RunOptions options;
                        options.verify = !args->no_verify;
                        options.reference = parse_reference(args->reference);
                        options.graph_calls = 20;
                        options.eager_iterations = std::max(5, std::min(500, int(5e10 / std::max(p.flops(), 1.0))));
                        AttentionHarness harness(rt, p, fresh_seed());
                        RunReport r = harness.run(v, options);
                        BenchRow row;
                        row.impl = requested == "auto" ? "flashcore-auto" : "flashcore:" + v.template_id();
                        row.variant = v.to_string();
                        row.selection = chosen.source;
                        row.problem = p;
                        row.us_graph = r.us_graph;
                        row.us_eager = r.us_eager;
                        if (r.verified) row.max_abs_err = r.error.max_abs;
                        row.reference = r.reference;
                        row.device = device;
                        std::string line = bench_row_json(row);
                        std::cout << line << std::endl;
                        if (sink) sink << line << std::endl;
                        if (r.verified && !r.passed) {
                            std::cerr << "bench: " << v.to_string() << " on " << p.to_string()
                                      << " FAILED its accuracy check (max abs error " << format_error(r.error.max_abs)
                                      << ")\n";
                            code = kWorkFailed;
                        }
                    }
                }
            }
            return code;
        });
    });
}

}  // namespace flashcore::cli
