#include "flashcore/driver.hpp"

#include "core/driver_api.hpp"
#include "flashcore/error.hpp"
#include "core/logging.hpp"

namespace flashcore {

using detail::driver_api;

namespace {
std::string g_driver_library = "libcuda.so.1";

const detail::DriverApi& api() { return driver_api(g_driver_library); }

// For destructors: log instead of throwing.
void log_failure(CUresult rc, const char* what) {
    if (rc != CUDA_SUCCESS && rc != CUDA_ERROR_DEINITIALIZED)
        detail::log().warn("{} failed during cleanup: {}", what, detail::describe(rc));
}
}  // namespace

void set_driver_library(const std::string& path) { g_driver_library = path; }

std::string gpu_unavailable_reason() {
    try {
        int count = device_count();
        return count > 0 ? std::string() : "the CUDA driver reports no GPU";
    } catch (const Error& e) {
        return e.info().message;
    }
}

int device_count() {
    int count = 0;
    CUresult rc = api().cuDeviceGetCount(&count);
    if (rc != CUDA_SUCCESS)
        fail(Stage::driver, ErrorCode::no_device, "cannot count GPUs: " + detail::describe(rc));
    return count;
}

int driver_version() { return api().driver_version; }

Device::Device(int ordinal) {
    const auto& d = api();
    int count = device_count();
    if (ordinal < 0 || ordinal >= count)
        fail(Stage::driver, ErrorCode::no_device,
             "GPU " + std::to_string(ordinal) + " does not exist (" + std::to_string(count) + " found)");
    info_.ordinal = ordinal;
    info_.driver_version = d.driver_version;
    check(d.cuDeviceGet(&device_, ordinal), "cuDeviceGet");
    char name[256] = {};
    check(d.cuDeviceGetName(name, sizeof name, device_), "cuDeviceGetName");
    info_.name = name;
    auto attribute = [&](CUdevice_attribute a, const char* what) {
        int value = 0;
        check(d.cuDeviceGetAttribute(&value, a, device_), what);
        return value;
    };
    info_.sm = 10 * attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, "compute capability") +
               attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, "compute capability");
    info_.num_sms = attribute(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, "SM count");
    info_.max_threads_per_block = attribute(CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK, "max threads");
    info_.smem_per_block = attribute(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK, "shared memory");
    info_.smem_per_block_optin = attribute(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN, "opt-in shared memory");
    info_.l2_bytes = attribute(CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE, "L2 size");
    check(d.cuDeviceTotalMem(&info_.total_memory, device_), "cuDeviceTotalMem");
    check(d.cuDevicePrimaryCtxRetain(&context_, device_), "cuDevicePrimaryCtxRetain");
}

Device::~Device() {
    if (context_) log_failure(api().cuDevicePrimaryCtxRelease(device_), "cuDevicePrimaryCtxRelease");
}

std::string Device::poison_reason() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return poison_reason_;
}

void Device::make_current() const {
    if (poisoned_.load()) {
        ErrorInfo info;
        info.stage = Stage::driver;
        info.code = ErrorCode::context_poisoned;
        info.message = "GPU " + std::to_string(info_.ordinal) + " context is unusable after an earlier fault: " +
                       poison_reason() + ". Restart the process to use this GPU again";
        throw Error(std::move(info));
    }
    check(api().cuCtxSetCurrent(context_), "cuCtxSetCurrent");
}

void Device::check(CUresult rc, const std::string& what, const std::string& variant, Stage stage) const {
    if (rc == CUDA_SUCCESS) return;
    ErrorInfo info;
    info.stage = stage;
    info.native = rc;
    info.variant = variant;
    std::string described = detail::describe(rc);
    if (detail::is_sticky(rc)) {
        std::string culprit;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            const std::string* last = last_launch_.load();
            culprit = !variant.empty() ? variant : last ? *last : std::string();
            if (poison_reason_.empty())
                poison_reason_ = described + " reported by " + what +
                                 (culprit.empty() ? "" : " after launching " + culprit);
        }
        poisoned_.store(true);
        info.stage = Stage::launch;
        info.code = ErrorCode::launch_fault;
        info.variant = culprit;
        info.message = "kernel fault on GPU " + std::to_string(info_.ordinal) + ": " + described + " (seen at " + what +
                       "); the context is now unusable. Rerun the variant under compute-sanitizer, or bisect it";
    } else {
        info.code = ErrorCode::driver_error;
        info.message = what + " failed: " + described;
    }
    throw Error(std::move(info));
}

void Device::synchronize(const std::string& what) const {
    make_current();
    check(api().cuCtxSynchronize(), what);
}

CurrentContextRestore::CurrentContextRestore() {
    CUresult rc = api().cuCtxGetCurrent(&saved_);
    if (rc != CUDA_SUCCESS)
        fail(Stage::driver, ErrorCode::driver_error, "cuCtxGetCurrent failed: " + detail::describe(rc));
}

CurrentContextRestore::~CurrentContextRestore() {
    CUcontext now = nullptr;
    if (api().cuCtxGetCurrent(&now) == CUDA_SUCCESS && now == saved_) return;
    log_failure(api().cuCtxSetCurrent(saved_), "cuCtxSetCurrent (restoring the caller's context)");
}

bool stream_is_capturing(CUstream stream, const Device& device) {
    CUstreamCaptureStatus status = CU_STREAM_CAPTURE_STATUS_NONE;
    device.check(api().cuStreamIsCapturing(stream, &status), "cuStreamIsCapturing");
    return status != CU_STREAM_CAPTURE_STATUS_NONE;
}

DeviceBuffer::DeviceBuffer(const Device& device, std::size_t bytes) : device_(&device), bytes_(bytes) {
    device.make_current();
    if (bytes == 0) return;
    device.check(api().cuMemAlloc(&ptr_, bytes), "cuMemAlloc(" + std::to_string(bytes) + " bytes)");
}

DeviceBuffer::~DeviceBuffer() {
    if (ptr_ && device_ && !device_->poisoned()) log_failure(api().cuMemFree(ptr_), "cuMemFree");
}

DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept
    : device_(other.device_), ptr_(other.ptr_), bytes_(other.bytes_) {
    other.ptr_ = 0;
    other.bytes_ = 0;
}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
    if (this != &other) {
        if (ptr_ && device_ && !device_->poisoned()) log_failure(api().cuMemFree(ptr_), "cuMemFree");
        device_ = other.device_;
        ptr_ = other.ptr_;
        bytes_ = other.bytes_;
        other.ptr_ = 0;
        other.bytes_ = 0;
    }
    return *this;
}

void DeviceBuffer::upload(const void* host, std::size_t bytes) {
    if (bytes > bytes_) fail(Stage::driver, ErrorCode::internal, "upload larger than the buffer");
    device_->make_current();
    device_->check(api().cuMemcpyHtoD(ptr_, host, bytes), "cuMemcpyHtoD");
}

void DeviceBuffer::download(void* host, std::size_t bytes) const {
    if (bytes > bytes_) fail(Stage::driver, ErrorCode::internal, "download larger than the buffer");
    device_->make_current();
    device_->check(api().cuMemcpyDtoH(host, ptr_, bytes), "cuMemcpyDtoH");
}

void DeviceBuffer::fill_u16(unsigned short pattern) {
    device_->make_current();
    device_->check(api().cuMemsetD16(ptr_, pattern, bytes_ / 2), "cuMemsetD16");
}

void DeviceBuffer::fill_u32(unsigned int pattern) {
    device_->make_current();
    device_->check(api().cuMemsetD32(ptr_, pattern, bytes_ / 4), "cuMemsetD32");
}

void DeviceBuffer::fill_u8(unsigned char pattern) {
    device_->make_current();
    device_->check(api().cuMemsetD8(ptr_, pattern, bytes_), "cuMemsetD8");
}

Stream::Stream(const Device& device) : device_(device) {
    device.make_current();
    device.check(api().cuStreamCreate(&stream_, CU_STREAM_NON_BLOCKING), "cuStreamCreate");
}

Stream::~Stream() {
    if (stream_ && !device_.poisoned()) log_failure(api().cuStreamDestroy(stream_), "cuStreamDestroy");
}

void Stream::synchronize(const std::string& what) const {
    device_.make_current();
    device_.check(api().cuStreamSynchronize(stream_), what);
}

Event::Event(const Device& device) : device_(device) {
    device.make_current();
    device.check(api().cuEventCreate(&event_, CU_EVENT_DEFAULT), "cuEventCreate");
}

Event::~Event() {
    if (event_ && !device_.poisoned()) log_failure(api().cuEventDestroy(event_), "cuEventDestroy");
}

void Event::record(CUstream stream) { device_.check(api().cuEventRecord(event_, stream), "cuEventRecord"); }

void Event::synchronize() const { device_.check(api().cuEventSynchronize(event_), "cuEventSynchronize"); }

float Event::elapsed_since(const Event& start) const {
    float ms = 0;
    device_.check(api().cuEventElapsedTime(&ms, start.event_, event_), "cuEventElapsedTime");
    return ms;
}

Module::Module(const Device& device, const std::string& cubin, const std::string& variant)
    : device_(device), variant_(variant) {
    device.make_current();
    device.check(api().cuModuleLoadData(&module_, cubin.data()), "cuModuleLoadData", variant, Stage::load);
}

Module::~Module() {
    if (module_ && !device_.poisoned()) log_failure(api().cuModuleUnload(module_), "cuModuleUnload");
}

CUfunction Module::function(const std::string& lowered_name) const {
    CUfunction fn = nullptr;
    device_.check(api().cuModuleGetFunction(&fn, module_, lowered_name.c_str()),
                  "cuModuleGetFunction(" + lowered_name + ")", variant_, Stage::load);
    return fn;
}

void GraphExec::begin_capture(CUstream stream) {
    device_.make_current();
    device_.check(api().cuStreamBeginCapture(stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL), "cuStreamBeginCapture");
}

void GraphExec::end_capture(CUstream stream) {
    device_.check(api().cuStreamEndCapture(stream, &graph_), "cuStreamEndCapture");
    device_.check(api().cuGraphInstantiateWithFlags(&exec_, graph_, 0), "cuGraphInstantiate");
}

void GraphExec::abort_capture(CUstream stream) noexcept {
    CUgraph partial = nullptr;
    if (api().cuStreamEndCapture(stream, &partial) == CUDA_SUCCESS && partial) api().cuGraphDestroy(partial);
}

GraphExec::~GraphExec() {
    if (device_.poisoned()) return;
    if (exec_) log_failure(api().cuGraphExecDestroy(exec_), "cuGraphExecDestroy");
    if (graph_) log_failure(api().cuGraphDestroy(graph_), "cuGraphDestroy");
}

void GraphExec::launch(CUstream stream) { device_.check(api().cuGraphLaunch(exec_, stream), "cuGraphLaunch"); }

}  // namespace flashcore
