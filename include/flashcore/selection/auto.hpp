// `auto`: which variant runs a problem when the caller names none — the fastest tuning record
// of the problem's bucket across every family, else the first heuristic proposal (families by
// rank) that can_implement accepts, else the always-correct reference. And the one call that
// embedding hosts use, with "auto" or a variant text.
#pragma once

#include <string>
#include <vector>

#include "flashcore/attention.hpp"
#include "flashcore/device_info.hpp"
#include "flashcore/runtime.hpp"
#include "flashcore/selection/families.hpp"

namespace flashcore {

// Resolves `auto` for a problem on a device (no GPU needed: device facts are passed in).
// Throws Error(bad_problem) for a malformed problem only; a family that cannot take the problem
// is skipped, never an error. With `tensors`, a family that cannot take their layout (a TMA
// family and strides that are no multiples of 16 bytes) is skipped too.
Selection select_variant(Runtime& runtime, const AttentionProblem& problem, const DeviceInfo& device,
                         const AttentionTensors* tensors,
                         const std::vector<AutoFamily>& families = auto_families());
inline Selection select_variant(Runtime& runtime, const AttentionProblem& problem, const DeviceInfo& device,
                                const std::vector<AutoFamily>& families = auto_families()) {
    return select_variant(runtime, problem, device, nullptr, families);
}

// select_variant as the runtime's chooser for the request word "auto".
class AutoChooser : public VariantChooser {
public:
    explicit AutoChooser(std::vector<AutoFamily> families = auto_families());
    const std::string& request() const override;
    Selection choose(Runtime& runtime, const AttentionProblem& problem, int ordinal,
                     const AttentionTensors* tensors) override;

private:
    std::vector<AutoFamily> families_;
};

// The one call for embedding hosts: attention on `buffers` (asynchronous, on `stream`).
// `variant` is "auto" or a variant text. The first call for a problem resolves, compiles (at
// most once per process and once per cache), loads and plans; later calls are a hash lookup
// and a launch.
void attention(Runtime& runtime, const AttentionProblem& problem, const AttentionBuffers& buffers, CUstream stream,
               const std::string& variant = "auto", int ordinal = 0);
// Strided operands (tensor_views.hpp), optionally with a caller-owned workspace (size:
// prepare(...).workspace_bytes()). The thread's current CUDA context is restored on return.
void attention(Runtime& runtime, const AttentionProblem& problem, const AttentionTensors& tensors, CUstream stream,
               const std::string& variant = "auto", int ordinal = 0, const Workspace* workspace = nullptr);
// The plan attention() launches for these operands (resolved, checked, compiled, loaded).
const Runtime::AttentionPlan& prepare(Runtime& runtime, const AttentionProblem& problem,
                                      const AttentionTensors& tensors, const std::string& variant = "auto",
                                      int ordinal = 0);
// What attention() runs for this problem (resolving "auto"), without launching; with `tensors`,
// for their layout.
Selection resolve(Runtime& runtime, const AttentionProblem& problem, const std::string& variant = "auto",
                  int ordinal = 0, const AttentionTensors* tensors = nullptr);

}  // namespace flashcore
