// Thin RAII owners over the CUDA driver (loaded at run time): a device with its primary
// context, device memory, streams, events, modules and executable graphs. Move-only;
// destructors never throw (they log). A sticky fault poisons the device's context: later
// calls fail fast with the reason instead of touching the dead context.
#pragma once

#include <cuda.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "flashcore/device_info.hpp"
#include "flashcore/error.hpp"

namespace flashcore {

// "" when a driver with at least one device is usable, else why not (never throws).
std::string gpu_unavailable_reason();
int device_count();              // throws Error(no_driver)
int driver_version();            // e.g. 13000; throws Error(no_driver)
// Selects the driver library (default libcuda.so.1); effective only before the first use.
void set_driver_library(const std::string& path);

class Device {
public:
    // Retains the primary context of GPU `ordinal`. Throws no_driver / no_device.
    explicit Device(int ordinal);
    ~Device();
    Device(const Device&) = delete;
    Device& operator=(const Device&) = delete;

    const DeviceInfo& info() const { return info_; }

    // Makes the context current on this thread; throws context_poisoned after a fault.
    void make_current() const;
    // Throws for rc != CUDA_SUCCESS: launch_fault (and poisons the context) for sticky errors,
    // driver_error at `stage` otherwise. `what` names the operation, `variant` the kernel if any.
    void check(CUresult rc, const std::string& what, const std::string& variant = {},
               Stage stage = Stage::driver) const;
    void synchronize(const std::string& what = "synchronize") const;

    bool poisoned() const { return poisoned_.load(); }
    std::string poison_reason() const;
    // Records the last kernel launched, so a later fault report can name it. The string must
    // outlive the device (loaded kernels' canonical names do).
    void note_launch(const std::string* variant) const { last_launch_.store(variant, std::memory_order_relaxed); }

private:
    DeviceInfo info_;
    CUdevice device_ = 0;
    CUcontext context_ = nullptr;
    mutable std::atomic<bool> poisoned_{false};
    mutable std::mutex mutex_;
    mutable std::string poison_reason_;
    mutable std::atomic<const std::string*> last_launch_{nullptr};
};

// Restores the thread's current CUDA context when it goes out of scope, so a call into the
// library leaves the host's context (a framework's, or none) as it found it. Throws like the
// driver calls do (no_driver) when constructed; the destructor only logs.
class CurrentContextRestore {
public:
    CurrentContextRestore();
    ~CurrentContextRestore();
    CurrentContextRestore(const CurrentContextRestore&) = delete;
    CurrentContextRestore& operator=(const CurrentContextRestore&) = delete;

private:
    CUcontext saved_ = nullptr;
};

// True while `stream` is being captured into a graph (work is recorded, not run).
bool stream_is_capturing(CUstream stream, const Device& device);

class DeviceBuffer {
public:
    DeviceBuffer() = default;
    DeviceBuffer(const Device& device, std::size_t bytes);
    ~DeviceBuffer();
    DeviceBuffer(DeviceBuffer&& other) noexcept;
    DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;

    CUdeviceptr get() const { return ptr_; }
    std::size_t bytes() const { return bytes_; }
    void upload(const void* host, std::size_t bytes);
    void download(void* host, std::size_t bytes) const;
    // Fills with a repeating 16- or 32-bit pattern (NaN poisoning) or bytes.
    void fill_u16(unsigned short pattern);
    void fill_u32(unsigned int pattern);
    void fill_u8(unsigned char pattern);

private:
    const Device* device_ = nullptr;
    CUdeviceptr ptr_ = 0;
    std::size_t bytes_ = 0;
};

class Stream {
public:
    explicit Stream(const Device& device);
    ~Stream();
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;
    CUstream get() const { return stream_; }
    void synchronize(const std::string& what = "stream synchronize") const;

private:
    const Device& device_;
    CUstream stream_ = nullptr;
};

class Event {
public:
    explicit Event(const Device& device);
    ~Event();
    Event(const Event&) = delete;
    Event& operator=(const Event&) = delete;
    void record(CUstream stream);
    // Milliseconds from `start` to this event (both recorded and complete).
    float elapsed_since(const Event& start) const;
    void synchronize() const;

private:
    const Device& device_;
    CUevent event_ = nullptr;
};

// A loaded cubin. Failures to load it or to find a function in it are Error(load).
class Module {
public:
    Module(const Device& device, const std::string& cubin, const std::string& variant);
    ~Module();
    Module(const Module&) = delete;
    Module& operator=(const Module&) = delete;
    CUfunction function(const std::string& lowered_name) const;

private:
    const Device& device_;
    CUmodule module_ = nullptr;
    std::string variant_;
};

// Captures the work `body` enqueues on `stream` into a graph and instantiates it.
class GraphExec {
public:
    template <class Body>
    GraphExec(const Device& device, CUstream stream, Body&& body) : device_(device) {
        begin_capture(stream);
        try {
            body();
        } catch (...) {
            abort_capture(stream);
            throw;
        }
        end_capture(stream);
    }
    ~GraphExec();
    GraphExec(const GraphExec&) = delete;
    GraphExec& operator=(const GraphExec&) = delete;
    void launch(CUstream stream);

private:
    void begin_capture(CUstream stream);
    void end_capture(CUstream stream);
    void abort_capture(CUstream stream) noexcept;
    const Device& device_;
    CUgraph graph_ = nullptr;
    CUgraphExec exec_ = nullptr;
};

}  // namespace flashcore
