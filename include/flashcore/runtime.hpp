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
#include "flashcore/tensor_views.hpp"
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
    // `tensors` (may be null): the operands of the first call, whose layout the choice must suit.
    virtual Selection choose(Runtime& runtime, const AttentionProblem& problem, int ordinal,
                             const AttentionTensors* tensors) = 0;
};

// Caller-owned scratch memory for one call, so a framework's allocator owns it and a CUDA-graph
// capture allocates nothing. At least the plan's workspace_bytes() (0: none needed). Its first
// bytes hold counters the kernels leave zero: the runtime zeroes them with one
// cuMemsetD8Async on the call's stream the first time it sees the buffer (or after another
// variant used it), and never synchronously. Call Runtime::forget_workspace before freeing it.
struct Workspace {
    CUdeviceptr data = 0;
    std::size_t bytes = 0;
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

    // can_implement against the device (when there is one) and the operands (when given): throws
    // Error(bad_problem, or the reason's code) with the reason. Shared memory is left to the
    // launch, which knows the kernel's static shared memory and reports the whole arithmetic.
    void check_problem(const Variant& variant, const AttentionProblem& problem, int ordinal = 0,
                       const AttentionTensors* tensors = nullptr);

    // A loaded kernel with everything a launch for one problem needs, derived once: launch
    // dimensions and, for templates with tensor-map arguments, the argument cache.
    struct AttentionPlan {
        LoadedKernel* kernel = nullptr;
        LaunchDims dims;
        std::shared_ptr<KernelArguments> args;  // null: the kernel takes FcAttentionParams only
        std::string variant;                    // canonical (also kernel->variant())
        // Bytes of scratch a call needs (a caller-provided Workspace must hold as many).
        std::size_t workspace_bytes() const { return dims.workspace_bytes; }
    };
    AttentionPlan plan(LoadedKernel& kernel, const AttentionProblem& problem);
    // Launches one attention call on `stream` (asynchronous). The workspace the variant asks
    // for is the caller's when `workspace` is given, else owned by the runtime, one per
    // (device, stream), allocated on the first call of a stream (which must then not be
    // capturing). Checks the operands (check_tensors) first. The thread's current context is
    // restored on return.
    void launch(const AttentionPlan& plan, const AttentionProblem& problem, const AttentionTensors& tensors,
                CUstream stream, const Workspace* workspace = nullptr);
    void launch(const AttentionPlan& plan, const AttentionProblem& problem, const AttentionBuffers& buffers,
                CUstream stream) {
        launch(plan, problem, AttentionTensors::contiguous(problem, buffers), stream);
    }
    void launch_attention(LoadedKernel& kernel, const AttentionProblem& problem, const AttentionBuffers& buffers,
                          CUstream stream) {
        launch(plan(kernel, problem), problem, buffers, stream);
    }

    // One call: attention on `buffers` (asynchronous, on `stream`) with the variant `text`. The
    // first call for a problem checks, compiles (at most once per process and once per cache),
    // loads and plans; later calls are a hash lookup and a launch.
    // Plans are kept per (problem, operand layout, request, device); the thread's current
    // context is restored on return.
    void attention(const AttentionProblem& problem, const AttentionTensors& tensors, CUstream stream,
                   const std::string& text, int ordinal = 0, const Workspace* workspace = nullptr);
    // The same with the variant `chooser` picks on the first call for the problem and layout.
    void attention(const AttentionProblem& problem, const AttentionTensors& tensors, CUstream stream,
                   VariantChooser& chooser, int ordinal = 0, const Workspace* workspace = nullptr);
    // Packed [B, H, S, D] buffers.
    void attention(const AttentionProblem& problem, const AttentionBuffers& buffers, CUstream stream,
                   const std::string& text, int ordinal = 0) {
        attention(problem, AttentionTensors::contiguous(problem, buffers), stream, text, ordinal);
    }
    void attention(const AttentionProblem& problem, const AttentionBuffers& buffers, CUstream stream,
                   VariantChooser& chooser, int ordinal = 0) {
        attention(problem, AttentionTensors::contiguous(problem, buffers), stream, chooser, ordinal);
    }

    // The plan attention() would launch (made on the first call for the problem and layout:
    // chosen, checked, compiled, loaded), without launching: ask it workspace_bytes(), then
    // launch(plan, problem, tensors, stream, &workspace). The reference stays valid for the
    // runtime's lifetime.
    const AttentionPlan& prepare(const AttentionProblem& problem, const AttentionTensors& tensors,
                                 const std::string& text, int ordinal = 0);
    const AttentionPlan& prepare(const AttentionProblem& problem, const AttentionTensors& tensors,
                                 VariantChooser& chooser, int ordinal = 0);

    // The caller is about to free (or reuse for something else) a buffer it passed as a
    // Workspace: the next call that gets this address zeroes its counters again.
    void forget_workspace(CUdeviceptr data);

private:
    struct OwnedWorkspace {
        DeviceBuffer buffer;
        const LoadedKernel* zeroed_for = nullptr;  // kernel whose counters the zero region holds
    };
    struct PlanKey {
        AttentionProblem problem;
        AttentionLayout layout;
        std::string request;  // variant text or chooser word
        int ordinal = 0;
        bool operator==(const PlanKey& other) const = default;
    };
    struct PlanKeyHash {
        std::size_t operator()(const PlanKey& key) const noexcept;
    };
    // The plan for `key`, made on a miss from the variant `choose` names.
    template <class Choose>
    const AttentionPlan& plan_for(const PlanKey& key, const AttentionTensors& tensors, Choose&& choose);
    CUdeviceptr prepare_workspace(LoadedKernel& kernel, const LaunchDims& dims, CUstream stream,
                                  const Workspace* caller);
    void launch_current(const AttentionPlan& plan, const AttentionProblem& problem, const AttentionTensors& tensors,
                        CUstream stream, const Workspace* workspace);

    Config config_;
    TemplateRegistry templates_;
    std::unique_ptr<KernelCache> cache_;
    std::mutex mutex_;
    std::map<int, std::unique_ptr<Device>> devices_;
    std::map<std::pair<std::string, int>, std::unique_ptr<LoadedKernel>> kernels_;
    std::map<std::pair<int, CUstream>, OwnedWorkspace> workspaces_;
    std::map<CUdeviceptr, const LoadedKernel*> caller_workspaces_;  // kernel whose counters each holds
    std::shared_mutex plans_mutex_;
    std::unordered_map<PlanKey, std::unique_ptr<const AttentionPlan>, PlanKeyHash> plans_;
};

}  // namespace flashcore
