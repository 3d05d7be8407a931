// The core's front door: configuration, templates, the pipeline (render -> key -> cache tiers
// -> compile -> load -> launch), devices, loaded kernels and per-problem launch plans in one
// object. Thread-safe. Kernels are loaded once per (cache key, device).
//
// The runtime runs variants it is given. Choosing one (`auto`) is the selection layer's
// (flashcore/selection/auto.hpp): it plugs in as a VariantChooser, consulted on a plan-cache
// miss only, so a warm call stays a hash lookup and a launch either way.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <utility>

#include "flashcore/attention.hpp"
#include "flashcore/compile.hpp"
#include "flashcore/config.hpp"
#include "flashcore/driver.hpp"
#include "flashcore/kernel_cache.hpp"
#include "flashcore/launch.hpp"
#include "flashcore/load.hpp"
#include "flashcore/tensor_map.hpp"
#include "flashcore/template_registry.hpp"
#include "flashcore/variant.hpp"

namespace flashcore {

class Runtime;

// Which variant a request stands for, and why (for logs and `flashcore run auto`).
struct Selection {
    std::string variant;  // canonical
    std::string source;   // "explicit", or the chooser's: "tuned" | "heuristic" | "fallback"
    std::string why;      // record file or rule
};

// Turns a request word that names no variant (the selection layer's "auto") into a variant for
// one problem on one GPU. Called on a plan-cache miss only; the answer is kept in the plan.
class VariantChooser {
public:
    virtual ~VariantChooser() = default;
    virtual const std::string& request() const = 0;  // the word, part of the plan key
    virtual Selection choose(Runtime& runtime, const AttentionProblem& problem, int ordinal) = 0;
};

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

    // Compile-only: the cubin for `target`, from memory, disk or NVRTC (src/core/build.cpp).
    // Throws Error(bad_input) when the target is outside the template's min_sm..max_sm.
    CacheLookup build(const Variant& variant, const Target& target, const CompileOptions& options = {});

    // The GPU `ordinal`, opened on first use. Throws no_driver / no_device.
    Device& device(int ordinal = 0);
    // The exact target for this variant on that device (sm_XY, with "a" if the template asks).
    Target device_target(const Variant& variant, int ordinal = 0);

    // The variant compiled for and loaded on the device (once per key and device).
    // `lookup` (optional) receives where the cubin came from.
    LoadedKernel& kernel(const Variant& variant, int ordinal = 0, const CompileOptions& options = {},
                         CacheLookup* lookup = nullptr);

    // can_implement against the device (when there is one): throws Error(bad_problem, or the
    // reason's code) with the reason. Shared memory is left to the launch, which knows the
    // kernel's static shared memory and reports the whole arithmetic.
    void check_problem(const Variant& variant, const AttentionProblem& problem, int ordinal = 0);

    // A loaded kernel with everything a launch for one problem needs, derived once: launch
    // dimensions and, for templates with tensor-map arguments, the argument cache.
    struct AttentionPlan {
        LoadedKernel* kernel = nullptr;
        LaunchDims dims;
        std::shared_ptr<KernelArguments> args;  // null: the kernel takes FcAttentionParams only
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

    // One call: attention on `buffers` (asynchronous, on `stream`) with the variant `text`. The
    // first call for a problem checks, compiles (at most once per process and once per cache),
    // loads and plans; later calls are a hash lookup and a launch.
    void attention(const AttentionProblem& problem, const AttentionBuffers& buffers, CUstream stream,
                   const std::string& text, int ordinal = 0);
    // The same with the variant `chooser` picks on the first call for the problem.
    void attention(const AttentionProblem& problem, const AttentionBuffers& buffers, CUstream stream,
                   VariantChooser& chooser, int ordinal = 0);

private:
    struct Workspace {
        DeviceBuffer buffer;
        const LoadedKernel* zeroed_for = nullptr;  // kernel whose counters the zero region holds
    };
    struct PlanKey {
        AttentionProblem problem;
        std::string request;  // variant text or chooser word
        int ordinal = 0;
        bool operator==(const PlanKey& other) const = default;
    };
    struct PlanKeyHash {
        std::size_t operator()(const PlanKey& key) const noexcept;
    };
    // The plan for `key`, made on a miss from the variant `choose` names.
    template <class Choose>
    const AttentionPlan& plan_for(const PlanKey& key, Choose&& choose);
    CUdeviceptr prepare_workspace(LoadedKernel& kernel, const LaunchDims& dims, CUstream stream);

    Config config_;
    TemplateRegistry templates_;
    std::unique_ptr<KernelCache> cache_;
    std::mutex mutex_;
    std::map<int, std::unique_ptr<Device>> devices_;
    std::map<std::pair<std::string, int>, std::unique_ptr<LoadedKernel>> kernels_;
    std::map<std::pair<int, CUstream>, Workspace> workspaces_;
    std::shared_mutex plans_mutex_;
    std::unordered_map<PlanKey, std::unique_ptr<const AttentionPlan>, PlanKeyHash> plans_;
};

}  // namespace flashcore
