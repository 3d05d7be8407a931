// Internal: NVTX ranges (domain "flashcore") around compile, load and launch, so Nsight Systems
// shows where a host's time goes. NVTX 3 is header-only and costs a branch when no tool is
// attached. The launch range uses a registered message, keeping the hot path free of
// string work.
#pragma once

#include <nvtx3/nvToolsExt.h>

#include <string>

namespace flashcore::detail {

inline nvtxDomainHandle_t nvtx_domain() {
    static nvtxDomainHandle_t domain = nvtxDomainCreateA("flashcore");
    return domain;
}

class NvtxRange {
public:
    // "<what> <detail>", e.g. "flashcore compile attention_mma:block_m=64,...".
    NvtxRange(const char* what, const std::string& detail) {
        std::string message = std::string(what) + " " + detail;
        nvtxEventAttributes_t attributes{};
        attributes.version = NVTX_VERSION;
        attributes.size = NVTX_EVENT_ATTRIB_STRUCT_SIZE;
        attributes.messageType = NVTX_MESSAGE_TYPE_ASCII;
        attributes.message.ascii = message.c_str();
        nvtxDomainRangePushEx(nvtx_domain(), &attributes);
    }
    // A fixed message registered once (for per-launch ranges).
    explicit NvtxRange(nvtxStringHandle_t registered) {
        nvtxEventAttributes_t attributes{};
        attributes.version = NVTX_VERSION;
        attributes.size = NVTX_EVENT_ATTRIB_STRUCT_SIZE;
        attributes.messageType = NVTX_MESSAGE_TYPE_REGISTERED;
        attributes.message.registered = registered;
        nvtxDomainRangePushEx(nvtx_domain(), &attributes);
    }
    ~NvtxRange() { nvtxDomainRangePop(nvtx_domain()); }
    NvtxRange(const NvtxRange&) = delete;
    NvtxRange& operator=(const NvtxRange&) = delete;
};

inline nvtxStringHandle_t nvtx_launch_message() {
    static nvtxStringHandle_t handle = nvtxDomainRegisterStringA(nvtx_domain(), "flashcore launch");
    return handle;
}

}  // namespace flashcore::detail
