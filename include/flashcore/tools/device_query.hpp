// The GPUs a `flashcore` process sees, as `flashcore devices --json` prints them. Parents of
// crash-isolated work (tune, bisect) ask a child for this so they never initialise CUDA.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "flashcore/device_info.hpp"

namespace flashcore {

class Runtime;

struct DevicesReport {
    std::vector<DeviceInfo> devices;
    std::string nvrtc;                      // "13.0"
    std::vector<std::string> cuda_include;  // NVRTC's include folders
    int driver_version = 0;                 // 0 when there is no driver
    std::string reason;                     // why there is no usable GPU; "" when there is one
    bool answered = true;                   // false: the child printed no document (not serialised)

    const DeviceInfo* find(int ordinal) const;
    // "NVIDIA H100 (sm_90), driver 13.0, NVRTC 13.0", or "no GPU 0 (why)".
    std::string describe(int ordinal) const;
};

// This process's view (opens the devices). Never throws for a missing driver or GPU: `reason`.
DevicesReport list_devices(Runtime& runtime);

// `executable devices --json` run as a child. Never throws: a child that gives no answer is a
// report whose `reason` says so.
DevicesReport query_devices_in_child(const std::string& executable, const std::map<std::string, std::string>& env = {});

// One GPU's facts from a child. Throws Error(no_driver / no_device) with the child's reason.
DeviceInfo query_device_in_child(const std::string& executable, int ordinal = 0);

}  // namespace flashcore
