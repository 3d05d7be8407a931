#include "flashcore/can_implement.hpp"

#include "core/enum_names.hpp"
#include "flashcore/launch.hpp"
#include "flashcore/problem_names.hpp"
#include "flashcore/tensor_map.hpp"

namespace flashcore {

namespace {

using F = FitCheck;
const detail::EnumName<FitCheck> kChecks[] = {
    {F::ok, "ok"},           {F::problem, "problem"},       {F::tensors, "tensors"},
    {F::min_sm, "min_sm"},   {F::max_sm, "max_sm"},         {F::problem_check, "problem_check"},
    {F::launch, "launch"},   {F::kernel_args, "kernel_args"}, {F::cluster, "cluster"},
    {F::tensor_maps, "tensor_maps"}, {F::shared_memory, "shared_memory"}};

// Clusters and TMA arrived with sm_90 and the CUDA 12.0 driver.
constexpr int kHopperSm = 90;
constexpr int kTensorMapDriver = 12000;

Fit no(FitCheck check, ErrorCode code, std::string message) { return Fit{check, code, std::move(message)}; }

std::string sm_text(int sm) { return "sm_" + std::to_string(sm); }

}  // namespace

const char* to_string(FitCheck check) { return detail::name_of(check, kChecks); }

DeviceInfo target_facts(int sm, const std::string& name) {
    DeviceInfo d;
    d.name = name;
    d.sm = sm;
    d.smem_per_block_optin = known_smem_optin(sm);
    return d;
}

Fit can_implement(const Variant& variant, const FitQuery& query) {
    const TemplateSchema& schema = variant.schema();
    const AttentionProblem* problem = query.problem;
    const DeviceInfo* device = query.device && query.device->sm > 0 ? query.device : nullptr;
    const std::string& id = variant.template_id();

    if (problem)
        if (std::string why = problem->invalid_reason(); !why.empty())
            return no(F::problem, ErrorCode::bad_problem, "attention problem " + problem->to_string() + ": " + why);
    if (problem && query.tensors)
        if (TensorIssue issue = find_tensor_issue(*problem, *query.tensors))
            return no(F::tensors, ErrorCode::bad_input, issue.message);
    // A device that cannot run the template's target is bad input, as a build for it is.
    if (device && device->sm < schema.min_sm)
        return no(F::min_sm, ErrorCode::bad_input,
                  "template '" + id + "' needs " + sm_text(schema.min_sm) + " or newer; this device is " +
                      sm_text(device->sm));
    if (device && schema.max_sm && device->sm > schema.max_sm)
        return no(F::max_sm, ErrorCode::bad_input,
                  "template '" + id + "' runs on " + sm_text(schema.max_sm) +
                      " at most (its arch-specific code is not forward compatible); this device is " +
                      sm_text(device->sm));

    // Problem-dependent answers need the problem; device names (problem.sm...) need the device.
    NameLookup names = problem ? variant.names(problem_names(*problem, device)) : variant.names();
    if (problem)
        for (const auto& check : schema.problem_checks) {
            bool holds = false;
            try {
                holds = check.expr.evaluate_int(names) != 0;
            } catch (const Error& e) {  // reads a device fact that is not known here
                if (device) return no(F::problem_check, ErrorCode::bad_input, e.info().message);
                continue;
            }
            if (!holds) return no(F::problem_check, ErrorCode::bad_problem, substitute_names(check.message, names));
        }

    std::string why;
    ErrorCode code = ErrorCode::bad_problem;
    std::optional<LaunchDims> dims = try_derive_launch(variant, problem ? problem_names(*problem, device) : NameLookup(),
                                                       &why, &code);
    if (!dims && problem) return no(F::launch, code, why);
    std::optional<std::vector<KernelArg>> args;
    if (problem) {
        args = try_derive_kernel_args(variant, problem_names(*problem, device), &why);
        if (!args) return no(F::kernel_args, ErrorCode::bad_input, why);
        for (const auto& arg : *args)
            if (!arg.is_params)
                if (std::string box = tensor_map_box_problem(arg.map, problem->dtype); !box.empty())
                    return no(F::kernel_args, ErrorCode::bad_input, box);
        // TMA reads the operands through maps whose global strides and base address have rules
        // of their own (multiples of 16 bytes): the same function that builds the maps judges.
        if (query.tensors) {
            const FcAttentionParams params = make_attention_params(*problem, *query.tensors, 0);
            for (const auto& arg : *args) {
                if (arg.is_params) continue;
                try {
                    (void)tensor_map_arguments(*problem, params, arg.map, variant.to_string());
                } catch (const Error& e) {
                    return no(F::kernel_args, ErrorCode::bad_input, e.info().message);
                }
            }
        }
    }
    if (device && dims && dims->clustered() && device->sm < kHopperSm)
        return no(F::cluster, ErrorCode::bad_input,
                  "variant launches thread-block clusters, which need sm_90 or newer; this device is " +
                      sm_text(device->sm));
    if (device && schema.launch.has_tensor_maps()) {
        if (device->sm < kHopperSm)
            return no(F::tensor_maps, ErrorCode::bad_input,
                      "variant takes TMA tensor maps, which need sm_90 or newer; this device is " + sm_text(device->sm));
        if (device->driver_version && device->driver_version < kTensorMapDriver)
            return no(F::tensor_maps, ErrorCode::bad_input,
                      "variant takes TMA tensor maps, which need a CUDA 12.0 driver or newer; this one is " +
                          std::to_string(device->driver_version / 1000) + "." +
                          std::to_string(device->driver_version % 1000 / 10));
    }
    // Without a problem the grid is unknown, but the shared memory often is not (build's report).
    std::optional<std::size_t> dynamic_smem;
    if (dims) dynamic_smem = dims->dynamic_smem;
    else if (!problem) {
        try {
            std::int64_t bytes = schema.launch.dynamic_smem.evaluate_int(names);
            if (bytes >= 0) dynamic_smem = static_cast<std::size_t>(bytes);
        } catch (const Error&) {  // it depends on the problem
        }
    }
    if (device && dynamic_smem && device->smem_per_block_optin > 0) {
        std::string overflow = shared_memory_overflow(static_cast<std::size_t>(query.static_smem), *dynamic_smem,
                                                      static_cast<std::size_t>(device->smem_per_block_optin),
                                                      device->name);
        if (!overflow.empty()) return no(F::shared_memory, ErrorCode::resource_exceeded, overflow);
    }
    return Fit{};
}

}  // namespace flashcore
