// The library's front door: configuration, templates, the compile cache, devices and loaded
// kernels in one object. Thread-safe. Kernels are loaded once per (cache key, device).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>
#include <string>
#include <utility>

#include "flashcore/attention.hpp"
#include "flashcore/compile.hpp"
#include "flashcore/config.hpp"
#include "flashcore/driver.hpp"
#include "flashcore/kernel_cache.hpp"
#include "flashcore/launch.hpp"
#include "flashcore/selection.hpp"
#include "flashcore/template_registry.hpp"
#include "flashcore/variant.hpp"

namespace flashcore {

class Runtime {
public:
    // Throws Error(bad_input) for a bad configuration (unknown template dir, log level...).
    explicit Runtime(Config config = Config::from_env());
    ~Runtime();
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;

    const Config& config() const { return config_; }
    const TemplateRegistry& templates() const { return templates_; }
    KernelCache& cache() { return *cache_; }

    // Parses a variant; bound fields (dtype, head_dim, causal...) follow `problem` when given.
    Variant variant(const std::string& text, const AttentionProblem* problem = nullptr) const;

    // Compile-only: the cubin for `target`, from memory, disk or NVRTC.
    CacheLookup build(const Variant& variant, const Target& target, const CompileOptions& options = {});

    // The GPU `ordinal`, opened on first use. Throws no_driver / no_device.
    Device& device(int ordinal = 0);
    // The exact target for this variant on that device (sm_XY, with "a" if the template asks).
    Target device_target(const Variant& variant, int ordinal = 0);

    // The variant compiled for and loaded on the device (once per key and device).
    // `lookup` (optional) receives where the cubin came from.
    LoadedKernel& kernel(const Variant& variant, int ordinal = 0, const CompileOptions& options = {},
                         CacheLookup* lookup = nullptr);

    // Checks the problem against the variant's schema ("can_implement"); throws
    // Error(bad_problem) with the schema's message.
    void check_problem(const Variant& variant, const AttentionProblem& problem, int ordinal = 0);

    // A loaded kernel with its launch dimensions for one problem (derived once).
    struct AttentionPlan {
        LoadedKernel* kernel = nullptr;
        LaunchDims dims;
    };
    AttentionPlan plan(LoadedKernel& kernel, const AttentionProblem& problem);
    // Launches one attention call on `stream` (asynchronous). The workspace the variant asks
    // for is owned by the runtime, one per (device, stream).
    void launch(const AttentionPlan& plan, const AttentionProblem& problem, const AttentionBuffers& buffers,
                CUstream stream);
    void launch_attention(LoadedKernel& kernel, const AttentionProblem& problem, const AttentionBuffers& buffers,
                          CUstream stream) {
        launch(plan(kernel, problem), problem, buffers, stream);
    }

    // The one call for embedding hosts: attention on `buffers` (asynchronous, on `stream`).
    // `variant` is "auto" (tuned record, else heuristic, else the reference) or a variant
    // text. The first call for a shape resolves, compiles (at most once per process and once
    // per cache) and loads; later calls for that shape are a hash lookup and a launch.
    void attention(const AttentionProblem& problem, const AttentionBuffers& buffers, CUstream stream,
                   const std::string& variant = "auto", int ordinal = 0);
    // What `attention` runs for this problem (resolving "auto"), without launching.
    Selection resolve(const AttentionProblem& problem, const std::string& variant = "auto", int ordinal = 0);

private:
    struct Workspace {
        DeviceBuffer buffer;
        const LoadedKernel* zeroed_for = nullptr;  // kernel whose counters the zero region holds
    };
    struct PlanKey {
        int B, Hq, Hkv, Sq, Skv, D, flags, ordinal;
        std::uint32_t scale_bits;
        std::string variant;
        bool operator==(const PlanKey& o) const {
            return B == o.B && Hq == o.Hq && Hkv == o.Hkv && Sq == o.Sq && Skv == o.Skv && D == o.D && flags == o.flags &&
                   ordinal == o.ordinal && scale_bits == o.scale_bits && variant == o.variant;
        }
    };
    struct PlanKeyHash {
        std::size_t operator()(const PlanKey& k) const noexcept;
    };
    static PlanKey plan_key(const AttentionProblem& problem, const std::string& variant, int ordinal);
    CUdeviceptr prepare_workspace(LoadedKernel& kernel, const LaunchDims& dims, CUstream stream);

    Config config_;
    TemplateRegistry templates_;
    std::unique_ptr<KernelCache> cache_;
    std::mutex mutex_;
    std::map<int, std::unique_ptr<Device>> devices_;
    std::map<std::pair<std::string, int>, std::unique_ptr<LoadedKernel>> kernels_;
    std::map<std::pair<int, CUstream>, Workspace> workspaces_;
    std::shared_mutex plans_mutex_;
    std::unordered_map<PlanKey, AttentionPlan, PlanKeyHash> plans_;
};

}  // namespace flashcore
