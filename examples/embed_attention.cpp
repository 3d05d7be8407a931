// Embedding FlashCore: one call runs attention on your own device buffers and stream with the
// per-shape specialised kernel ("auto": tuned record, else heuristic), compiled at most once
// per process and once per cache. Without a GPU it compiles the reference only.
#include <flashcore/error.hpp>
#include <flashcore/runtime.hpp>
#include <flashcore/selection/auto.hpp>
#include <flashcore/tools/host_numeric.hpp>  // only to check the result against the CPU

#include <cstdio>

int main() {
    try {
        flashcore::Runtime runtime;  // configuration from FLASHCORE_* environment variables
        flashcore::AttentionProblem problem = flashcore::AttentionProblem::from_shape("1,8,8,256,256,64");
        flashcore::Variant variant = runtime.variant("reference_attention", &problem);

        if (std::string why = flashcore::gpu_unavailable_reason(); !why.empty()) {
            flashcore::CacheLookup built = runtime.build(variant, flashcore::Target::parse("sm_90"));
            std::printf("no GPU (%s)\ncompiled %s for sm_90: %zu-byte cubin, %d registers (%s)\n", why.c_str(),
                        variant.to_string().c_str(), built.entry->compiled.cubin.size(),
                        built.entry->compiled.resources.registers, flashcore::to_string(built.source));
            return 0;
        }

        flashcore::Device& device = runtime.device(0);
        flashcore::AttentionInputs inputs = flashcore::make_random_inputs(problem, 1234);
        flashcore::DeviceBuffer q(device, inputs.q_bytes.size()), k(device, inputs.k_bytes.size()),
            v(device, inputs.v_bytes.size()), o(device, inputs.q_bytes.size());
        q.upload(inputs.q_bytes.data(), inputs.q_bytes.size());
        k.upload(inputs.k_bytes.data(), inputs.k_bytes.size());
        v.upload(inputs.v_bytes.data(), inputs.v_bytes.size());
        flashcore::Stream stream(device);

        flashcore::attention(runtime, problem, {q.get(), k.get(), v.get(), o.get()}, stream.get());  // "auto"
        stream.synchronize();
        const std::string chosen = flashcore::resolve(runtime, problem).variant;

        std::vector<unsigned char> bytes(o.bytes());
        o.download(bytes.data(), bytes.size());
        flashcore::ErrorStats err =
            flashcore::compare(flashcore::decode(bytes, problem.dtype), flashcore::cpu_reference_attention(problem, inputs));
        std::printf("auto -> %s on %s: max abs error %.2e vs CPU fp64\n", chosen.c_str(),
                    device.info().name.c_str(), err.max_abs);
        return err.within(flashcore::tolerance_for(problem.dtype)) ? 0 : 1;
    } catch (const flashcore::Error& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return e.is_usage_error() ? 2 : 1;
    }
}
