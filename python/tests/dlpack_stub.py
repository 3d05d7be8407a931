"""A minimal DLPack producer for tests without a GPU or any array library: it describes memory
it does not own (any address, any device type) with a shape, strides and dtype, so the binding's
checks can be exercised on fake CUDA pointers. Nothing ever dereferences them on the CPU path."""
import ctypes

KDL_CPU, KDL_CUDA = 1, 2
FLOAT, BFLOAT = 2, 4
DTYPES = {"f16": (FLOAT, 16), "bf16": (BFLOAT, 16), "f32": (FLOAT, 32), "f64": (FLOAT, 64), "i32": (0, 32)}


class _Device(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class _DType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class _Tensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("device", _Device), ("ndim", ctypes.c_int32), ("dtype", _DType),
                ("shape", ctypes.POINTER(ctypes.c_int64)), ("strides", ctypes.POINTER(ctypes.c_int64)),
                ("byte_offset", ctypes.c_uint64)]


class _Managed(ctypes.Structure):
    pass


_Deleter = ctypes.CFUNCTYPE(None, ctypes.POINTER(_Managed))
_Managed._fields_ = [("dl_tensor", _Tensor), ("manager_ctx", ctypes.c_void_p), ("deleter", _Deleter)]

_capsule_new = ctypes.pythonapi.PyCapsule_New
_capsule_new.restype = ctypes.py_object
_capsule_new.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]


def packed_strides(shape):
    strides, step = [], 1
    for size in reversed(shape):
        strides.insert(0, step)
        step *= size
    return strides


class FakeArray:
    """shape, strides (elements; default packed), dtype ('f16', 'bf16', 'f32', 'f64', 'i32'),
    address, device type and id."""

    def __init__(self, shape, dtype="f16", strides=None, address=0x7F0000000000, device_type=KDL_CUDA,
                 device_id=0):
        self.shape = tuple(shape)
        self.strides = tuple(strides) if strides is not None else tuple(packed_strides(shape))
        self.dtype = dtype
        self.address = address
        self.device = (device_type, device_id)
        self._keep = []

    def __dlpack_device__(self):
        return self.device

    def __dlpack__(self, stream=None, max_version=None, dl_device=None, copy=None):
        n = len(self.shape)
        shape = (ctypes.c_int64 * n)(*self.shape)
        strides = (ctypes.c_int64 * n)(*self.strides)
        managed = _Managed()
        code, bits = DTYPES[self.dtype]
        managed.dl_tensor = _Tensor(ctypes.c_void_p(self.address), _Device(*self.device), n, _DType(code, bits, 1),
                                    shape, strides, 0)
        managed.manager_ctx = None
        managed.deleter = _Deleter()  # NULL: nothing to free
        self._keep.append((managed, shape, strides))
        return _capsule_new(ctypes.addressof(managed), b"dltensor", None)
