#include "flashcore/tools/device_query.hpp"

#include <chrono>
#include <sstream>

#include "flashcore/driver.hpp"
#include "flashcore/error.hpp"
#include "flashcore/runtime.hpp"
#include "tools/child_process.hpp"
#include "tools/json_codec.hpp"

namespace flashcore {

using json = nlohmann::json;

const DeviceInfo* DevicesReport::find(int ordinal) const {
    for (const auto& d : devices)
        if (d.ordinal == ordinal) return &d;
    return nullptr;
}

std::string DevicesReport::describe(int ordinal) const {
    std::ostringstream s;
    if (const DeviceInfo* d = find(ordinal)) s << d->name << " (sm_" << d->sm << ")";
    else s << "no GPU " << ordinal << (reason.empty() ? "" : " (" + reason + ")");
    if (driver_version) s << ", driver " << driver_version / 1000 << "." << (driver_version % 1000) / 10;
    if (!nvrtc.empty()) s << ", NVRTC " << nvrtc;
    return s.str();
}

DevicesReport list_devices(Runtime& runtime) {
    DevicesReport report;
    report.nvrtc = runtime.cache().toolkit().nvrtc_version();
    report.cuda_include = runtime.cache().toolkit().include_dirs();
    report.reason = gpu_unavailable_reason();
    if (!report.reason.empty()) return report;
    report.driver_version = driver_version();
    for (int i = 0, n = device_count(); i < n; ++i) report.devices.push_back(runtime.device(i).info());
    return report;
}

DevicesReport query_devices_in_child(const std::string& executable, const std::map<std::string, std::string>& env) {
    detail::ChildOutcome child = detail::run_child({executable, "devices", "--json"}, env, std::chrono::seconds(60));
    const std::string& text = child.stdout_tail;
    if (size_t brace = text.find('{'); brace != std::string::npos) {
        try {
            return json::parse(text.substr(brace)).get<DevicesReport>();
        } catch (const std::exception&) {  // not the document: reported below
        }
    }
    DevicesReport report;
    report.answered = false;
    report.reason = "`" + executable + " devices --json` gave no answer (exit " + std::to_string(child.exit_code) +
                    "): " + child.stderr_tail;
    return report;
}

DeviceInfo query_device_in_child(const std::string& executable, int ordinal) {
    DevicesReport report = query_devices_in_child(executable);
    if (const DeviceInfo* d = report.find(ordinal)) {
        DeviceInfo info = *d;
        info.driver_version = report.driver_version;
        return info;
    }
    const bool no_driver = report.answered && !report.reason.empty();
    fail(Stage::driver, no_driver ? ErrorCode::no_driver : ErrorCode::no_device,
         !report.reason.empty() ? report.reason : "GPU " + std::to_string(ordinal) + " not found by `flashcore devices`");
}

}  // namespace flashcore
