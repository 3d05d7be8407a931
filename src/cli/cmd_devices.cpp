// `flashcore devices`: the GPUs this process can use, or why there are none.
#include <nlohmann/json.hpp>

#include <iostream>

#include "cli/commands.hpp"
#include "flashcore/driver.hpp"
#include "flashcore/error.hpp"

namespace flashcore::cli {

void register_devices(CLI::App& app, Context& context) {
    auto* cmd = app.add_subcommand("devices", "list CUDA devices (works without a driver: says why none)");
    auto json_out = std::make_shared<bool>(false);
    cmd->add_flag("--json", *json_out, "one JSON object");
    cmd->callback([&context, json_out] {
        context.exit_code = guarded(context, [&] {
            context.runtime();  // applies configuration (driver library, log level)
            nlohmann::json doc = {{"devices", nlohmann::json::array()},
                                  {"nvrtc", context.runtime().cache().toolkit().nvrtc_version()},
                                  {"cuda_include", context.runtime().cache().toolkit().include_dirs()}};
            std::string reason = gpu_unavailable_reason();
            if (!reason.empty()) {
                doc["reason"] = reason;
                if (*json_out) std::cout << doc.dump() << "\n";
                else std::cout << "no usable GPU: " << reason << "\nNVRTC " << doc["nvrtc"].get<std::string>() << "\n";
                return kOk;
            }
            doc["driver_version"] = driver_version();
            int count = device_count();
            for (int i = 0; i < count; ++i) {
                const DeviceInfo& d = context.runtime().device(i).info();
                doc["devices"].push_back({{"ordinal", d.ordinal},
                                          {"name", d.name},
                                          {"arch", "sm_" + std::to_string(d.sm)},
                                          {"sms", d.num_sms},
                                          {"smem_optin_bytes", d.smem_per_block_optin},
                                          {"l2_bytes", d.l2_bytes},
                                          {"memory_bytes", d.total_memory}});
                if (!*json_out)
                    std::cout << "GPU " << d.ordinal << ": " << d.name << "  sm_" << d.sm << "  " << d.num_sms
                              << " SMs  opt-in smem " << d.smem_per_block_optin / 1024 << " KB  "
                              << d.total_memory / (1 << 20) << " MiB\n";
            }
            if (*json_out) std::cout << doc.dump() << "\n";
            else
                std::cout << "driver " << driver_version() / 1000 << "." << (driver_version() % 1000) / 10 << ", NVRTC "
                          << doc["nvrtc"].get<std::string>() << "\n";
            return kOk;
        });
    });
}

}  // namespace flashcore::cli
