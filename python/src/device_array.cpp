#include "device_array.hpp"

#include <Python.h>

#include <utility>

namespace nb = nanobind;

namespace flashcore::python {

namespace {

// DLPack's ABI (dlpack.h, v0.8 legacy layout), declared here: the header is not a dependency.
struct DLDevice {
    std::int32_t device_type;  // kDLCUDA = 2
    std::int32_t device_id;
};
struct DLDataType {
    std::uint8_t code;  // kDLFloat = 2, kDLBfloat = 4
    std::uint8_t bits;
    std::uint16_t lanes;
};
struct DLTensor {
    void* data;
    DLDevice device;
    std::int32_t ndim;
    DLDataType dtype;
    std::int64_t* shape;
    std::int64_t* strides;
    std::uint64_t byte_offset;
};
struct DLManagedTensor {
    DLTensor dl_tensor;
    void* manager_ctx;
    void (*deleter)(DLManagedTensor*);
};

// What one exported capsule keeps alive.
struct Export {
    DLManagedTensor managed{};
    std::shared_ptr<DeviceBuffer> buffer;
    std::vector<std::int64_t> shape, strides;
};

void delete_export(DLManagedTensor* managed) { delete static_cast<Export*>(managed->manager_ctx); }

// The capsule's destructor: the consumer renames a capsule it took to "used_dltensor" and owns
// the deleter call from then on; one still named "dltensor" was never consumed.
void capsule_destructor(PyObject* capsule) {
    if (!PyCapsule_IsValid(capsule, "dltensor")) return;
    auto* managed = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(capsule, "dltensor"));
    if (managed && managed->deleter) managed->deleter(managed);
}

DLDataType dl_dtype(DType dtype) {
    switch (dtype) {
        case DType::f32: return {2, 32, 1};
        case DType::bf16: return {4, 16, 1};
        default: return {2, 16, 1};
    }
}

}  // namespace

DeviceArray::DeviceArray(std::shared_ptr<DeviceBuffer> buffer, std::vector<std::int64_t> shape, DType dtype,
                         int device)
    : buffer_(std::move(buffer)), shape_(std::move(shape)), dtype_(dtype), device_(device) {}

std::vector<std::int64_t> DeviceArray::strides() const {
    std::vector<std::int64_t> s(shape_.size(), 1);
    for (std::size_t i = shape_.size(); i-- > 1;) s[i - 1] = s[i] * shape_[i];
    return s;
}

nb::capsule DeviceArray::dlpack() const {
    auto* e = new Export{};
    e->buffer = buffer_;
    e->shape = shape_;
    e->strides = strides();
    DLTensor& t = e->managed.dl_tensor;
    t.data = reinterpret_cast<void*>(buffer_->get());
    t.device = {2, device_};
    t.ndim = static_cast<std::int32_t>(shape_.size());
    t.dtype = dl_dtype(dtype_);
    t.shape = e->shape.data();
    t.strides = e->strides.data();
    t.byte_offset = 0;
    e->managed.manager_ctx = e;
    e->managed.deleter = delete_export;
    PyObject* capsule = PyCapsule_New(&e->managed, "dltensor", capsule_destructor);
    if (!capsule) {
        delete e;
        throw nb::python_error();
    }
    return nb::steal<nb::capsule>(capsule);
}

void bind_device_array(nb::module_& m) {
    nb::class_<DeviceArray>(m, "DeviceArray",
                            "CUDA memory flashcore allocated for an output; a DLPack producer (jax.numpy.from_dlpack, "
                            "torch.from_dlpack, cupy.from_dlpack take it)")
        .def_prop_ro("shape",
                     [](const DeviceArray& a) {
                         nb::list dims;
                         for (std::int64_t d : a.shape()) dims.append(d);
                         return nb::steal<nb::tuple>(PyList_AsTuple(dims.ptr()));
                     })
        .def_prop_ro("dtype", [](const DeviceArray& a) { return std::string(to_string(a.dtype())); })
        .def_prop_ro("data_ptr", &DeviceArray::data)
        // The consumer's stream may be passed; the data is complete once the call that wrote it
        // returned (the package synchronizes before handing a DeviceArray out), so it is ignored.
        .def("__dlpack__", [](const DeviceArray& a, nb::args, nb::kwargs) { return a.dlpack(); })
        .def("__dlpack_device__", [](const DeviceArray& a) { return nb::make_tuple(2, a.device()); });
}

}  // namespace flashcore::python
