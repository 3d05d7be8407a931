#include "flashcore/tools/attention_harness.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>

#include "flashcore/error.hpp"

namespace flashcore {

namespace {

// Problems up to this many multiply-adds are checked against the CPU in fp64.
constexpr double kCpuReferenceMacs = double(1 << 27);
// Debug-stage dumps ([B, Hq, Sq, Skv] floats) are only taken up to this many elements.
constexpr std::size_t kMaxDebugElements = std::size_t(1) << 26;

constexpr std::uint16_t kHalfNaN = 0x7e00;
constexpr std::uint16_t kBf16NaN = 0x7fc0;
constexpr std::uint32_t kFloatNaN = 0x7fc00000u;

void poison(DeviceBuffer& buffer, DType dtype) {
    if (dtype == DType::f32) buffer.fill_u32(kFloatNaN);
    else buffer.fill_u16(dtype == DType::f16 ? kHalfNaN : kBf16NaN);
}

std::string stage_of(const Variant& variant) {
    if (!variant.schema().find_param("stage")) return "full";
    return to_string(variant.value("stage"));
}

}  // namespace

std::uint64_t fresh_seed() {
    std::random_device device;
    return (std::uint64_t(device()) << 32) ^ device() ^
           std::uint64_t(std::chrono::steady_clock::now().time_since_epoch().count());
}

struct AttentionHarness::Buffers {
    DeviceBuffer q, k, v, o, lse, debug;
    // fp32 copies for the GPU reference, made on first use.
    DeviceBuffer q32, k32, v32, o32, lse32;
};

AttentionHarness::AttentionHarness(Runtime& runtime, AttentionProblem problem, std::uint64_t seed, int device)
    : runtime_(runtime), problem_(problem), seed_(seed), device_(device) {
    problem_.validate();
    inputs_ = make_random_inputs(problem_, seed_);
    Device& dev = runtime_.device(device_);
    buffers_ = std::make_unique<Buffers>();
    const std::size_t elem = dtype_bytes(problem_.dtype);
    buffers_->q = DeviceBuffer(dev, problem_.q_elements() * elem);
    buffers_->k = DeviceBuffer(dev, problem_.kv_elements() * elem);
    buffers_->v = DeviceBuffer(dev, problem_.kv_elements() * elem);
    buffers_->o = DeviceBuffer(dev, problem_.q_elements() * elem);
    buffers_->q.upload(inputs_.q_bytes.data(), inputs_.q_bytes.size());
    buffers_->k.upload(inputs_.k_bytes.data(), inputs_.k_bytes.size());
    buffers_->v.upload(inputs_.v_bytes.data(), inputs_.v_bytes.size());
    if (problem_.with_lse) buffers_->lse = DeviceBuffer(dev, problem_.lse_elements() * 4);
}

AttentionHarness::~AttentionHarness() = default;

bool AttentionHarness::use_cpu_reference(ReferenceKind kind) const {
    if (kind == ReferenceKind::cpu) return true;
    if (kind == ReferenceKind::gpu) return false;
    return double(problem_.B) * problem_.Hq * problem_.Sq * double(problem_.Skv) * problem_.D <= kCpuReferenceMacs;
}

std::string AttentionHarness::reference_name(ReferenceKind kind) const {
    return use_cpu_reference(kind) ? "cpu-fp64" : "gpu-reference-f32";
}

void AttentionHarness::compute_reference(ReferenceKind kind) {
    if (use_cpu_reference(kind)) {
        reference_o_ = cpu_reference_attention(problem_, inputs_, &reference_lse_);
        return;
    }
    // The plain reference template in fp32 on exactly the (already rounded) inputs.
    AttentionProblem p32 = problem_;
    p32.dtype = DType::f32;
    p32.with_lse = true;
    Device& dev = runtime_.device(device_);
    Buffers& b = *buffers_;
    auto upload32 = [&](DeviceBuffer& buffer, const std::vector<float>& values) {
        buffer = DeviceBuffer(dev, values.size() * 4);
        buffer.upload(values.data(), values.size() * 4);
    };
    upload32(b.q32, inputs_.q);
    upload32(b.k32, inputs_.k);
    upload32(b.v32, inputs_.v);
    b.o32 = DeviceBuffer(dev, p32.q_elements() * 4);
    b.lse32 = DeviceBuffer(dev, p32.lse_elements() * 4);
    b.o32.fill_u32(kFloatNaN);
    b.lse32.fill_u32(kFloatNaN);
    Variant reference = runtime_.variant("reference_attention:dtype=f32");
    LoadedKernel& kernel = runtime_.kernel(reference, device_);
    AttentionBuffers buffers{b.q32.get(), b.k32.get(), b.v32.get(), b.o32.get(), b.lse32.get(), 0};
    runtime_.launch_attention(kernel, p32, buffers, nullptr);
    dev.synchronize("reference_attention (GPU reference)");
    std::vector<float> o(p32.q_elements()), lse(p32.lse_elements());
    b.o32.download(o.data(), o.size() * 4);
    b.lse32.download(lse.data(), lse.size() * 4);
    reference_o_.assign(o.begin(), o.end());
    reference_lse_.assign(lse.begin(), lse.end());
    b.q32 = DeviceBuffer();
    b.k32 = DeviceBuffer();
    b.v32 = DeviceBuffer();
    b.o32 = DeviceBuffer();
    b.lse32 = DeviceBuffer();
}

const std::vector<double>& AttentionHarness::reference_output(ReferenceKind kind) {
    bool want_cpu = use_cpu_reference(kind);
    if (!reference_kind_ || use_cpu_reference(*reference_kind_) != want_cpu) {
        compute_reference(kind);
        reference_kind_ = kind;
    }
    return reference_o_;
}

std::vector<float> AttentionHarness::output() const {
    std::vector<unsigned char> bytes(buffers_->o.bytes());
    buffers_->o.download(bytes.data(), bytes.size());
    return decode(bytes, problem_.dtype);
}

RunReport AttentionHarness::run(const Variant& variant, const RunOptions& options) {
    RunReport report;
    report.variant = variant.to_string();
    runtime_.check_problem(variant, problem_, device_);
    CacheLookup lookup;
    LoadedKernel& kernel = runtime_.kernel(variant, device_, options.compile, &lookup);
    report.key = lookup.entry->key;
    report.cache_source = to_string(lookup.source);
    report.lookup_ms = lookup.lookup_ms;
    report.registers = kernel.registers();
    report.static_smem = kernel.static_smem();
    Device& dev = runtime_.device(device_);
    report.dims = runtime_.plan(kernel, problem_).dims;

    Buffers& b = *buffers_;
    const std::string stage = stage_of(variant);
    const bool debug_stage = stage != "full";
    const std::size_t debug_elements = std::size_t(problem_.B) * problem_.Hq * problem_.Sq * problem_.Skv;
    if (debug_stage) {
        if (debug_elements > kMaxDebugElements)
            fail(Stage::verify, ErrorCode::bad_problem,
                 "stage=" + stage + " dumps B*Hq*Sq*Skv floats; this problem is too large for that (use a smaller shape)",
                 report.variant);
        if (b.debug.bytes() < debug_elements * 4) b.debug = DeviceBuffer(dev, debug_elements * 4);
        b.debug.fill_u32(kFloatNaN);
    }
    AttentionBuffers buffers{b.q.get(), b.k.get(), b.v.get(), b.o.get(), problem_.with_lse ? b.lse.get() : 0,
                             debug_stage ? b.debug.get() : 0};

    // The checked launch: outputs poisoned first so an unwritten element cannot pass.
    poison(b.o, problem_.dtype);
    if (problem_.with_lse) b.lse.fill_u32(kFloatNaN);
    const Runtime::AttentionPlan plan = runtime_.plan(kernel, problem_);
    runtime_.launch(plan, problem_, buffers, nullptr);
    dev.synchronize("attention launch");

    if (options.verify) {
        report.verified = true;
        report.tolerance = tolerance_for(problem_.dtype);
        if (debug_stage) {
            std::vector<float> dump(debug_elements);
            b.debug.download(dump.data(), dump.size() * 4);
            std::vector<double> scores, probabilities;
            cpu_reference_intermediates(problem_, inputs_, stage == "qk" ? &scores : nullptr,
                                        stage == "qk" ? nullptr : &probabilities);
            report.compared = stage == "qk" ? "S (stage=qk)" : "P (stage=softmax)";
            report.reference = "cpu-fp64";
            report.error = compare(dump, stage == "qk" ? scores : probabilities);
        } else {
            const std::vector<double>& expected = reference_output(options.reference);
            report.reference = reference_name(options.reference);
            report.compared = problem_.with_lse ? "o+lse" : "o";
            report.error = compare(output(), expected);
            if (problem_.with_lse) {
                std::vector<float> lse(problem_.lse_elements());
                b.lse.download(lse.data(), lse.size() * 4);
                report.lse_error = compare(lse, reference_lse_);
            }
        }
        report.passed = report.error.within(report.tolerance) &&
                        (!problem_.with_lse || debug_stage || report.lse_error.within(report.tolerance));
    }

    if (options.eager_iterations > 0 || options.graph_calls > 0) {
        Stream stream(dev);
        Event start(dev), stop(dev);
        for (int i = 0; i < options.warmup; ++i) runtime_.launch(plan, problem_, buffers, stream.get());
        stream.synchronize("warm-up");
        if (options.eager_iterations > 0) {
            std::vector<double> per_call;
            for (int r = 0; r < options.repetitions; ++r) {
                start.record(stream.get());
                for (int i = 0; i < options.eager_iterations; ++i)
                    runtime_.launch(plan, problem_, buffers, stream.get());
                stop.record(stream.get());
                stop.synchronize();
                per_call.push_back(1000.0 * stop.elapsed_since(start) / options.eager_iterations);
            }
            report.us_eager = median(per_call);
        }
        if (options.graph_calls > 0) {
            GraphExec graph(dev, stream.get(), [&] {
                for (int i = 0; i < options.graph_calls; ++i)
                    runtime_.launch(plan, problem_, buffers, stream.get());
            });
            graph.launch(stream.get());  // first replay uploads the graph
            stream.synchronize("graph warm-up");
            constexpr int kReplays = 5;
            std::vector<double> per_call;
            for (int r = 0; r < options.repetitions; ++r) {
                start.record(stream.get());
                for (int i = 0; i < kReplays; ++i) graph.launch(stream.get());
                stop.record(stream.get());
                stop.synchronize();
                per_call.push_back(1000.0 * stop.elapsed_since(start) / (kReplays * options.graph_calls));
            }
            report.us_graph = median(per_call);
            report.us_graph_min = *std::min_element(per_call.begin(), per_call.end());
            report.us_graph_max = *std::max_element(per_call.begin(), per_call.end());
        }
    }
    return report;
}

}  // namespace flashcore
