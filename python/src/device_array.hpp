// flashcore.DeviceArray: output memory for frameworks whose allocator we cannot call (JAX, plain
// DLPack consumers). Owns a DeviceBuffer and exports it through the DLPack protocol
// (__dlpack__ / __dlpack_device__) itself, so it does not depend on which nanobind version
// built the module (older ones give nb_ndarray no __dlpack__; JAX 0.4.3x+ takes nothing else).
#pragma once

#include <nanobind/nanobind.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "flashcore/attention.hpp"
#include "flashcore/driver.hpp"

namespace flashcore::python {

class DeviceArray {
public:
    DeviceArray(std::shared_ptr<DeviceBuffer> buffer, std::vector<std::int64_t> shape, DType dtype, int device);

    std::uint64_t data() const { return buffer_->get(); }
    const std::vector<std::int64_t>& shape() const { return shape_; }
    std::vector<std::int64_t> strides() const;  // elements, row-major
    DType dtype() const { return dtype_; }
    int device() const { return device_; }

    // A "dltensor" capsule (the legacy DLManagedTensor form every consumer reads). The memory
    // stays alive until the consumer calls the deleter, or the capsule dies unconsumed.
    nanobind::capsule dlpack() const;

private:
    std::shared_ptr<DeviceBuffer> buffer_;
    std::vector<std::int64_t> shape_;
    DType dtype_;
    int device_;
};

// Registers the class on module `m`.
void bind_device_array(nanobind::module_& m);

}  // namespace flashcore::python
