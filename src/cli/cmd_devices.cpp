// `flashcore devices`: the GPUs this process can use, or why there are none.
#include <nlohmann/json.hpp>

#include <iostream>

#include "cli/commands.hpp"
#include "flashcore/error.hpp"
#include "flashcore/tools/device_query.hpp"
#include "tools/json_codec.hpp"

namespace flashcore::cli {

void register_devices(CLI::App& app, Context& context) {
    auto* cmd = app.add_subcommand("devices", "list CUDA devices (works without a driver: says why none)");
    auto json_out = std::make_shared<bool>(false);
    cmd->add_flag("--json", *json_out, "one JSON object");
    cmd->callback([&context, json_out] {
        context.exit_code = guarded(context, [&] {
            DevicesReport report = list_devices(context.runtime());
            if (*json_out) {
                std::cout << nlohmann::json(report).dump() << "\n";
                return kOk;
            }
            if (!report.reason.empty()) {
                std::cout << "no usable GPU: " << report.reason << "\nNVRTC " << report.nvrtc << "\n";
                return kOk;
            }
            for (const DeviceInfo& d : report.devices)
                std::cout << "GPU " << d.ordinal << ": " << d.name << "  sm_" << d.sm << "  " << d.num_sms
                          << " SMs  opt-in smem " << d.smem_per_block_optin / 1024 << " KB  "
                          << d.total_memory / (1 << 20) << " MiB\n";
            std::cout << "driver " << report.driver_version / 1000 << "." << (report.driver_version % 1000) / 10
                      << ", NVRTC " << report.nvrtc << "\n";
            return kOk;
        });
    });
}

}  // namespace flashcore::cli
