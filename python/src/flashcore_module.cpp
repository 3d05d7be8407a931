// flashcore._flashcore: the Python binding over the library (nanobind). Thin: operands become
// AttentionTensors (from DLPack, or from a torch tensor's pointer/shape/strides for speed), the
// library checks them (find_tensor_issue: TypeError/ValueError with its message) and runs the
// call; flashcore::Error becomes flashcore.FlashcoreError (or its ValueError subclass for bad
// input) carrying stage, code, variant and arch. The Python package (flashcore/__init__.py)
// owns framework details: allocating outputs and workspaces, streams, torch.library.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/array.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "flashcore/can_implement.hpp"
#include "flashcore/driver.hpp"
#include "flashcore/error.hpp"
#include "flashcore/runtime.hpp"
#include "flashcore/selection/auto.hpp"
#include "flashcore/tensor_views.hpp"
#include "device_array.hpp"

namespace nb = nanobind;
using namespace flashcore;

namespace {

// ---- errors ----------------------------------------------------------------------------------

struct ErrorTypes {
    nb::object base, value, type;  // FlashcoreError, FlashcoreValueError, FlashcoreTypeError
};
ErrorTypes& error_types() {
    static ErrorTypes* types = new ErrorTypes();  // never destroyed: outlives interpreter teardown order
    return *types;
}

// Raised into Python by the translator below; `kind` picks the class.
struct PyRaise {
    enum class Kind { base, value, type } kind;
    ErrorInfo info;
};

void set_python_error(const PyRaise& r) {
    const ErrorTypes& t = error_types();
    nb::object cls = r.kind == PyRaise::Kind::type ? t.type : r.kind == PyRaise::Kind::value ? t.value : t.base;
    if (!cls.is_valid()) {  // the package did not register its classes (imported _flashcore directly)
        PyErr_SetString(r.kind == PyRaise::Kind::type ? PyExc_TypeError : PyExc_RuntimeError, r.info.message.c_str());
        return;
    }
    nb::object error = cls(r.info.message, to_string(r.info.stage), to_string(r.info.code), r.info.variant,
                           r.info.arch, r.info.native, r.info.log);
    PyErr_SetObject(cls.ptr(), error.ptr());
}

[[noreturn]] void raise(PyRaise::Kind kind, std::string message) {
    ErrorInfo info;
    info.stage = Stage::validate;
    info.code = ErrorCode::bad_input;
    info.message = std::move(message);
    throw PyRaise{kind, std::move(info)};
}

// ---- the runtime -----------------------------------------------------------------------------

std::mutex g_runtime_mutex;
std::unique_ptr<Runtime> g_runtime;

Runtime& runtime() {
    std::lock_guard<std::mutex> lock(g_runtime_mutex);
    if (!g_runtime) g_runtime = std::make_unique<Runtime>(Config::from_env());
    return *g_runtime;
}

// ---- operands --------------------------------------------------------------------------------

using Dims = std::vector<std::int64_t>;

void check_rank(const char* name, std::size_t rank, bool bshd) {
    if (rank != 4)
        raise(PyRaise::Kind::value, std::string(name) + ": the array has " + std::to_string(rank) +
                                        " dimensions; attention operands have 4 (" + (bshd ? "B, S, H, D" : "B, H, S, D") +
                                        ")");
}

// The array dimensions, in the order given, as [B, H, S, D]: "bshd" swaps the middle two.
TensorView make_view(const char* name, std::uint64_t data, DType dtype, const Dims& shape, const Dims& stride,
                     bool bshd) {
    check_rank(name, shape.size(), bshd);
    if (stride.size() != shape.size()) raise(PyRaise::Kind::value, std::string(name) + ": one stride per dimension");
    static constexpr int kBhsd[4] = {0, 1, 2, 3}, kBshd[4] = {0, 2, 1, 3};
    const int* order = bshd ? kBshd : kBhsd;
    TensorView v;
    v.data = data;
    v.dtype = dtype;
    for (int i = 0; i < 4; ++i) {
        v.shape[i] = shape[order[i]];
        v.stride[i] = stride[order[i]];
    }
    return v;
}

DType parse_dtype_name(const std::string& name, const char* operand) {
    try {
        return parse_dtype(name);
    } catch (const Error& e) {
        raise(PyRaise::Kind::type, std::string(operand) + ": " + e.info().message);
    }
}

const char* dlpack_dtype_name(const nb::dlpack::dtype& d) {
    using code = nb::dlpack::dtype_code;
    if (d.lanes != 1) return nullptr;
    if (d.code == static_cast<std::uint8_t>(code::Float) && d.bits == 16) return "f16";
    if (d.code == static_cast<std::uint8_t>(code::Float) && d.bits == 32) return "f32";
    if (d.code == static_cast<std::uint8_t>(code::Bfloat) && d.bits == 16) return "bf16";
    return nullptr;
}

std::string dlpack_dtype_text(const nb::dlpack::dtype& d) {
    static const char* const kCodes[] = {"int", "uint", "float", "opaque", "bfloat", "complex", "bool"};
    std::string name = d.code < 7 ? kCodes[d.code] : "code" + std::to_string(d.code);
    return name + std::to_string(d.bits) + (d.lanes != 1 ? "x" + std::to_string(d.lanes) : "");
}

const char* device_type_name(int type) {
    switch (type) {
        case nb::device::cpu::value: return "cpu";
        case nb::device::cuda::value: return "cuda";
        case nb::device::cuda_host::value: return "cuda_host (pinned host memory)";
        case nb::device::cuda_managed::value: return "cuda_managed";
        case nb::device::rocm::value: return "rocm";
        case nb::device::metal::value: return "metal";
        default: return "another device";
    }
}

struct Imported {
    nb::ndarray<> array;
    TensorView view;
    int device = 0;
};

// A DLPack operand (CuPy, JAX, NumPy, torch...): a CUDA array of rank 4 in a supported dtype.
Imported import_operand(nb::handle object, const char* name, bool bshd) {
    Imported out;
    python::DeviceArray* own = nullptr;
    if (nb::try_cast(object, own, false) && own) {  // an output empty() made: no DLPack round trip
        check_rank(name, own->shape().size(), bshd);
        out.view = make_view(name, own->data(), own->dtype(), own->shape(), own->strides(), bshd);
        out.device = own->device();
        return out;
    }
    if (!nb::try_cast(object, out.array, false))
        raise(PyRaise::Kind::type, std::string(name) + ": " + nb::type_name(object.type()).c_str() +
                                       " is not an array flashcore can read; pass a CUDA array that supports DLPack "
                                       "(torch, CuPy, JAX)");
    if (out.array.device_type() != nb::device::cuda::value)
        raise(PyRaise::Kind::type, std::string(name) + ": the array is on " + device_type_name(out.array.device_type()) +
                                       "; flashcore.attention takes CUDA arrays");
    check_rank(name, out.array.ndim(), bshd);
    const char* dtype = dlpack_dtype_name(out.array.dtype());
    if (!dtype)
        raise(PyRaise::Kind::type, std::string(name) + ": dtype " + dlpack_dtype_text(out.array.dtype()) +
                                       " is not supported; use f16, bf16 or f32");
    Dims shape(4), stride(4);
    for (int i = 0; i < 4; ++i) shape[i] = out.array.shape(i), stride[i] = out.array.stride(i);
    out.view = make_view(name, reinterpret_cast<std::uint64_t>(out.array.data()), parse_dtype(dtype), shape, stride,
                         bshd);
    out.device = out.array.device_id();
    return out;
}

// ---- the call --------------------------------------------------------------------------------

void raise_issue(const TensorIssue& issue) {
    if (issue) raise(issue.kind == TensorIssue::Kind::type ? PyRaise::Kind::type : PyRaise::Kind::value, issue.message);
}

// The problem the views describe, checked (TypeError/ValueError with the library's message).
AttentionProblem checked_problem(const AttentionTensors& tensors, bool causal, double scale, bool with_lse) {
    AttentionProblem problem = problem_from_views(tensors, causal, static_cast<float>(scale), with_lse);
    raise_issue(find_tensor_issue(problem, tensors));
    problem.validate();
    return problem;
}

struct Call {
    AttentionTensors tensors;
    int device = 0;
    bool causal = false;
    double scale = 0;  // 0: 1/sqrt(D)
    bool with_lse = false;
    std::string variant;
    std::uintptr_t stream = 0;
};

// Checks and runs with the runtime's own workspace (per device and stream).
void run(Call& c) {
    AttentionProblem problem = checked_problem(c.tensors, c.causal, c.scale, c.with_lse);
    nb::gil_scoped_release release;  // compiling takes seconds; a warm call is microseconds either way
    Runtime& rt = runtime();
    rt.launch(prepare(rt, problem, c.tensors, c.variant, c.device), problem, c.tensors,
              reinterpret_cast<CUstream>(c.stream));
}

void check_same_device(const char* name, int device, int q_device) {
    if (device != q_device)
        raise(PyRaise::Kind::value, std::string(name) + " is on cuda:" + std::to_string(device) + ", q on cuda:" +
                                        std::to_string(q_device) + "; every operand must be on one GPU");
}

// The runtime owns the workspace (per device and stream).
void attention_dlpack(nb::handle q, nb::handle k, nb::handle v, nb::handle o, nb::handle lse, bool causal, double scale,
                      bool bshd, const std::string& variant, std::uintptr_t stream) {
    Imported iq = import_operand(q, "q", bshd), ik = import_operand(k, "k", bshd), iv = import_operand(v, "v", bshd),
             io = import_operand(o, "o", bshd);
    check_same_device("k", ik.device, iq.device);
    check_same_device("v", iv.device, iq.device);
    check_same_device("o", io.device, iq.device);
    Call c;
    c.tensors = {iq.view, ik.view, iv.view, io.view, 0, 0};
    nb::ndarray<> lse_array;
    python::DeviceArray* own_lse = nullptr;
    if (!lse.is_none() && nb::try_cast(lse, own_lse, false) && own_lse) {
        if (own_lse->dtype() != DType::f32) raise(PyRaise::Kind::type, "lse: expected a CUDA float32 array");
        c.tensors.lse = own_lse->data();
        c.with_lse = true;
    } else if (!lse.is_none()) {
        if (!nb::try_cast(lse, lse_array, false) || lse_array.device_type() != nb::device::cuda::value ||
            lse_array.dtype() != nb::dtype<float>())
            raise(PyRaise::Kind::type, "lse: expected a CUDA float32 array");
        c.tensors.lse = reinterpret_cast<std::uint64_t>(lse_array.data());
        c.with_lse = true;
    }
    c.device = iq.device;
    c.causal = causal;
    c.scale = scale;
    c.variant = variant;
    c.stream = stream;
    run(c);
}

// torch's fast path, in two steps. prepare_ptrs (once per operand shapes, strides, dtypes and
// options: the package keeps the result per key) checks the views, resolves and compiles; a
// PreparedCall then launches with new pointers only, so a warm call costs a layout comparison
// and the launch instead of converting a dozen shape/stride sequences and re-checking them.
class PreparedCall {
public:
    PreparedCall(const AttentionTensors& tensors, bool causal, double scale, std::string variant, int device)
        : tensors_(tensors),
          problem_(checked_problem(tensors, causal, scale, tensors.lse != 0)),
          variant_(std::move(variant)),
          device_(device) {
        bind_plan();
    }

    // Bytes of caller workspace a launch needs (0: none).
    std::uint64_t workspace_bytes() const { return plan_->workspace_bytes(); }
    const std::string& variant() const { return plan_->variant; }

    // Launches on `stream` with these pointers; returns 0, or (launching nothing) the workspace
    // bytes the plan needs when the given workspace is smaller.
    std::uint64_t launch(std::uint64_t q, std::uint64_t k, std::uint64_t v, std::uint64_t o, std::uint64_t lse,
                         std::uintptr_t stream, std::uint64_t workspace, std::uint64_t workspace_bytes) {
        AttentionTensors& t = tensors_;
        t.q.data = q, t.k.data = k, t.v.data = v, t.o.data = o, t.lse = lse;
        if (problem_.with_lse != (lse != 0))
            raise(PyRaise::Kind::value, problem_.with_lse ? "lse: the call was prepared with an lse output; pass its pointer"
                                                          : "lse: the call was prepared without an lse output");
        // Base alignment is the only layout fact a pointer changes: another one gets the full
        // check (null or misaligned pointers are refused there) and its own plan.
        if (!(layout_of(t) == layout_)) {
            raise_issue(find_tensor_issue(problem_, t));
            bind_plan();
        }
        const std::uint64_t need = plan_->workspace_bytes();
        if (need && (workspace == 0 || workspace_bytes < need)) return need;
        nb::gil_scoped_release release;
        Workspace ws{workspace, workspace_bytes};
        runtime().launch(*plan_, problem_, t, reinterpret_cast<CUstream>(stream), need ? &ws : nullptr);
        return 0;
    }

private:
    void bind_plan() {
        layout_ = layout_of(tensors_);
        nb::gil_scoped_release release;  // the first call for a problem compiles (seconds)
        plan_ = &prepare(runtime(), problem_, tensors_, variant_, device_);
    }

    AttentionTensors tensors_;  // the prepared views; launch() swaps in each call's pointers
    AttentionProblem problem_;
    std::string variant_;  // as requested ("auto" or a variant text)
    int device_;
    AttentionLayout layout_;
    const Runtime::AttentionPlan* plan_ = nullptr;  // valid for the runtime's lifetime
};

PreparedCall prepare_ptrs(std::uint64_t q, const Dims& q_shape, const Dims& q_stride, std::uint64_t k,
                          const Dims& k_shape, const Dims& k_stride, std::uint64_t v, const Dims& v_shape,
                          const Dims& v_stride, std::uint64_t o, const Dims& o_shape, const Dims& o_stride,
                          std::uint64_t lse, const std::string& q_dtype, const std::string& k_dtype,
                          const std::string& v_dtype, const std::string& o_dtype, int device, bool causal,
                          double scale, bool bshd, const std::string& variant) {
    AttentionTensors t;
    t.q = make_view("q", q, parse_dtype_name(q_dtype, "q"), q_shape, q_stride, bshd);
    t.k = make_view("k", k, parse_dtype_name(k_dtype, "k"), k_shape, k_stride, bshd);
    t.v = make_view("v", v, parse_dtype_name(v_dtype, "v"), v_shape, v_stride, bshd);
    t.o = make_view("o", o, parse_dtype_name(o_dtype, "o"), o_shape, o_stride, bshd);
    t.lse = lse;
    return PreparedCall(t, causal, scale, variant, device);
}

// ---- outputs for frameworks without an allocator we can call (JAX, plain DLPack) --------------

python::DeviceArray empty(const std::vector<std::int64_t>& shape, const std::string& dtype_name, int device) {
    const DType dtype = parse_dtype_name(dtype_name, "empty");
    std::size_t elements = 1;
    for (std::int64_t s : shape) {
        if (s < 0) raise(PyRaise::Kind::value, "empty: negative size");
        elements *= static_cast<std::size_t>(s);
    }
    Runtime& rt = runtime();
    CurrentContextRestore restore;
    auto buffer = std::make_shared<DeviceBuffer>(rt.device(device), std::max<std::size_t>(elements, 1) * dtype_bytes(dtype));
    return python::DeviceArray(std::move(buffer), shape, dtype, device);
}

void synchronize(int device) {
    nb::gil_scoped_release release;
    CurrentContextRestore restore;
    runtime().device(device).synchronize("flashcore.attention (JAX and DLPack outputs)");
}

// ---- compile-only, resolution, cache, templates -----------------------------------------------

nb::dict build_one(const std::string& text, const std::string& arch) {
    Runtime& rt = runtime();
    Variant variant = rt.variant(text);
    Target target = target_for(variant.schema(), Target::parse(arch));
    CacheLookup lookup;
    {
        nb::gil_scoped_release release;
        lookup = rt.build(variant, target);
    }
    const Compiled& c = lookup.entry->compiled;
    nb::dict d;
    d["variant"] = variant.to_string();
    d["arch"] = target.to_string();
    d["key"] = lookup.entry->key;
    d["source"] = to_string(lookup.source);
    d["ms"] = lookup.lookup_ms;
    d["compile_ms"] = c.compile_ms;
    d["cubin_bytes"] = c.cubin.size();
    d["registers"] = c.resources.registers;
    d["spill_store_bytes"] = c.resources.spill_store_bytes;
    d["spill_load_bytes"] = c.resources.spill_load_bytes;
    d["static_smem_bytes"] = c.resources.static_shared_bytes;
    nb::list warnings;
    for (const auto& w : c.warnings) warnings.append(w);
    d["warnings"] = warnings;
    // The shared memory the launch asks for where it does not depend on the problem.
    Fit fit = can_implement(variant, FitQuery{nullptr, nullptr, c.resources.static_shared_bytes, nullptr});
    d["fits"] = fit.ok();
    return d;
}

nb::dict selection_dict(const Selection& s) {
    nb::dict d;
    d["variant"] = s.variant;
    d["source"] = s.source;
    d["why"] = s.why;
    return d;
}

// `auto` (or an explicit variant) for a problem: on GPU `device`, or for `arch` without one.
nb::dict resolve_problem(const std::array<int, 6>& shape, const std::string& dtype, bool causal, double scale,
                         const std::string& variant, const std::string& arch, int device) {
    AttentionProblem p;
    p.B = shape[0], p.Hq = shape[1], p.Hkv = shape[2], p.Sq = shape[3], p.Skv = shape[4], p.D = shape[5];
    p.dtype = parse_dtype_name(dtype, "dtype");
    p.causal = causal;
    p.scale = static_cast<float>(scale);
    p.validate();
    Runtime& rt = runtime();
    if (variant != "auto") return selection_dict({rt.variant(variant, &p).to_string(), "explicit", "given by the caller"});
    if (!arch.empty()) {
        Target t = Target::parse(arch);
        return selection_dict(select_variant(rt, p, target_facts(t.sm, t.to_string())));
    }
    CurrentContextRestore restore;
    return selection_dict(select_variant(rt, p, rt.device(device).info()));
}

nb::dict resolve_views(nb::handle q, nb::handle k, nb::handle v, bool causal, double scale, bool bshd,
                       const std::string& variant) {
    Imported iq = import_operand(q, "q", bshd), ik = import_operand(k, "k", bshd), iv = import_operand(v, "v", bshd);
    AttentionTensors t{iq.view, ik.view, iv.view, iq.view, 0, 0};  // o: as q (same shape, aligned alike)
    AttentionProblem p = checked_problem(t, causal, scale, false);
    Runtime& rt = runtime();
    CurrentContextRestore restore;
    return selection_dict(resolve(rt, p, variant, iq.device, &t));
}

nb::dict cache_info() {
    Runtime& rt = runtime();
    DiskCache& disk = rt.cache().disk();
    nb::dict d;
    d["dir"] = disk.dir();
    d["root"] = disk.root();
    d["enabled"] = disk.enabled();
    d["disabled_reason"] = disk.disabled_reason();
    d["max_bytes"] = disk.max_bytes();
    std::uint64_t bytes = 0;
    std::size_t entries = 0;
    if (disk.enabled())
        for (const DiskEntrySummary& e : disk.list()) bytes += e.bytes, ++entries;
    d["entries"] = entries;
    d["bytes"] = bytes;
    const CacheStats& s = rt.cache().stats();
    d["memory_hits"] = s.memory_hits.load();
    d["disk_hits"] = s.disk_hits.load();
    d["misses"] = s.misses.load();
    d["compiles"] = s.compiles.load();
    return d;
}

nb::list templates() {
    const TemplateRegistry& registry = runtime().templates();
    nb::list out;
    for (const std::string& id : registry.template_ids()) {
        auto schema = registry.schema(id);
        nb::list params;
        for (const ParamSpec& p : schema->params) {
            if (p.hidden) continue;
            nb::list values;
            for (const Value& v : p.values) {
                if (auto* i = std::get_if<std::int64_t>(&v)) values.append(*i);
                else values.append(std::get<std::string>(v));
            }
            nb::dict param;
            param["name"] = p.name;
            param["values"] = values;
            param["default"] = to_string(p.default_value);
            param["bind"] = p.bind;
            param["doc"] = p.doc;
            params.append(param);
        }
        nb::dict t;
        t["template"] = id;
        t["summary"] = schema->summary;
        t["min_sm"] = schema->min_sm;
        t["max_sm"] = schema->max_sm;
        t["params"] = params;
        out.append(t);
    }
    return out;
}

}  // namespace

NB_MODULE(_flashcore, m) {
    m.doc() = "FlashCore JIT: the C++ library's binding (use the flashcore package)";
    nb::register_exception_translator([](const std::exception_ptr& p, void*) {
        try {
            std::rethrow_exception(p);
        } catch (const PyRaise& r) {
            set_python_error(r);
        } catch (const Error& e) {
            set_python_error({e.is_usage_error() ? PyRaise::Kind::value : PyRaise::Kind::base, e.info()});
        }
    });
    python::bind_device_array(m);
    m.def("_set_error_types", [](nb::object base, nb::object value, nb::object type) {
        error_types() = {std::move(base), std::move(value), std::move(type)};
    });
    m.def("attention_dlpack", &attention_dlpack, nb::arg("q"), nb::arg("k"), nb::arg("v"), nb::arg("o"),
          nb::arg("lse").none(), nb::arg("causal"), nb::arg("scale"), nb::arg("bshd"), nb::arg("variant"),
          nb::arg("stream"));
    nb::class_<PreparedCall>(m, "PreparedCall")
        .def("launch", &PreparedCall::launch, nb::arg("q"), nb::arg("k"), nb::arg("v"), nb::arg("o"), nb::arg("lse"),
             nb::arg("stream"), nb::arg("workspace"), nb::arg("workspace_bytes"))
        .def_prop_ro("workspace_bytes", &PreparedCall::workspace_bytes)
        .def_prop_ro("variant", &PreparedCall::variant);
    m.def("prepare_ptrs", &prepare_ptrs);
    m.def("empty", &empty);
    m.def("synchronize", &synchronize);
    m.def("build", &build_one);
    m.def("resolve_problem", &resolve_problem);
    m.def("resolve_views", &resolve_views);
    m.def("cache_info", &cache_info);
    m.def("templates", &templates);
    m.def("gpu_unavailable_reason", &gpu_unavailable_reason);
    m.def("forget_workspace", [](std::uint64_t data) {
        std::lock_guard<std::mutex> lock(g_runtime_mutex);
        if (g_runtime) g_runtime->forget_workspace(data);
    });
    // Plans hold kernels that hold modules of a context: release them before the interpreter
    // (and the driver's atexit handlers) go away.
    nb::module_::import_("atexit").attr("register")(nb::cpp_function([] {
        std::lock_guard<std::mutex> lock(g_runtime_mutex);
        g_runtime.reset();
    }));
}
