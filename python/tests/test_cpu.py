"""CPU tests of the flashcore package (CI, no GPU, no torch): import, compile-only build,
resolve for an arch, cache_info, templates, and every argument error of attention() through a
minimal DLPack producer (tests/dlpack_stub.py) with fake CUDA pointers. Run with
`python -m unittest discover -s python/tests -p 'test_cpu.py'` against an installed package or
PYTHONPATH=<build>/python. Needs FLASHCORE_CACHE_DIR pointing at a scratch folder (CTest sets it)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import flashcore  # noqa: E402
from dlpack_stub import KDL_CPU, FakeArray  # noqa: E402

NO_GPU = flashcore.gpu_unavailable_reason() != ""
BASE = 0x7F0000000000


def operands(B=1, Hq=8, Hkv=2, Sq=64, Skv=64, D=64, dtype="f16", layout="bshd"):
    def shape(h, s):
        return (B, s, h, D) if layout == "bshd" else (B, h, s, D)

    return (FakeArray(shape(Hq, Sq), dtype, address=BASE), FakeArray(shape(Hkv, Skv), dtype, address=BASE + 0x1000000),
            FakeArray(shape(Hkv, Skv), dtype, address=BASE + 0x2000000),
            FakeArray(shape(Hq, Sq), dtype, address=BASE + 0x3000000))


class ArgumentErrors(unittest.TestCase):
    """Each unusable argument is refused with the library's message, before any GPU work."""

    def refused(self, exc, text, q, k, v, code="bad_input", **kw):
        with self.assertRaises(exc) as caught:
            flashcore.attention(q, k, v, **kw)
        self.assertIn(text, str(caught.exception))
        self.assertIsInstance(caught.exception, flashcore.FlashcoreError)
        self.assertEqual(caught.exception.code, code)
        return caught.exception

    def test_not_an_array(self):
        q, k, v, o = operands()
        self.refused(TypeError, "q: int is not an array flashcore can read", 3, k, v, out=o)
        self.refused(TypeError, "k: str is not an array", q, "k", v, out=o)

    def test_cpu_array(self):
        q, k, v, o = operands()
        cpu = FakeArray(q.shape, device_type=KDL_CPU)
        self.refused(TypeError, "q: the array is on cpu; flashcore.attention takes CUDA arrays", cpu, k, v, out=o)
        self.refused(TypeError, "v: the array is on cpu", q, k, FakeArray(v.shape, device_type=KDL_CPU), out=o)

    def test_numpy_array_is_on_cpu(self):
        try:
            import numpy
        except ImportError:
            self.skipTest("numpy is not installed")
        x = numpy.zeros((1, 16, 2, 64), dtype=numpy.float16)
        self.refused(TypeError, "q: the array is on cpu", x, x, x)

    def test_rank(self):
        q, k, v, o = operands()
        self.refused(ValueError, "q: the array has 3 dimensions; attention operands have 4 (B, S, H, D)",
                     FakeArray((64, 8, 64)), k, v, out=o)
        self.refused(ValueError, "(B, H, S, D)", FakeArray((64, 8, 64)), k, v, out=o, layout="bhsd")

    def test_dtypes(self):
        q, k, v, o = operands()
        self.refused(TypeError, "q: dtype float64 is not supported; use f16, bf16 or f32",
                     FakeArray(q.shape, "f64"), k, v, out=o)
        self.refused(TypeError, "k: dtype bf16 differs from the problem's f16 (q, k, v and o share one dtype)",
                     q, FakeArray(k.shape, "bf16", address=k.address), v, out=o)
        self.refused(TypeError, "o: dtype f32 differs", q, k, v, out=FakeArray(o.shape, "f32", address=o.address))

    def test_shapes(self):
        q, k, v, o = operands()
        self.refused(ValueError, "v: shape [1, 2, 63, 64] (B, H, S, D) does not match the problem's [1, 2, 64, 64]",
                     q, k, FakeArray((1, 63, 2, 64), address=v.address), out=o)
        self.refused(ValueError, "o: shape", q, k, v, out=FakeArray((1, 64, 4, 64), address=o.address))
        self.refused(ValueError, "k: shape [2, 2, 64, 64]", q, FakeArray((2, 64, 2, 64), address=k.address), v,
                     out=o)
        # GQA needs Hq to be a multiple of Hkv: the problem's own check.
        q3 = FakeArray((1, 64, 3, 64), address=BASE)
        self.refused(ValueError, "Hq must be a multiple of Hkv", q3, k, v, code="bad_problem",
                     out=FakeArray((1, 64, 3, 64), address=o.address))

    def test_strides_and_alignment(self):
        q, k, v, o = operands()
        strided_d = FakeArray(q.shape, strides=(64 * 8 * 128, 8 * 128, 128, 2), address=q.address)
        self.refused(ValueError, "q: the head dimension must be contiguous (stride 1), it has stride 2", strided_d,
                     k, v, out=o)
        broadcast = FakeArray(k.shape, strides=(64 * 64, 0, 64, 1), address=k.address)  # stride 0 over S
        self.refused(ValueError, "k: the row stride is 0; zero (broadcast) and negative strides", q, broadcast, v,
                     out=o)
        self.refused(ValueError, "v: the base address 0x7f0002000002 is not 16-byte aligned", q, k,
                     FakeArray(v.shape, address=v.address + 2), out=o)
        odd_rows = FakeArray(k.shape, strides=(64 * 2 * 68, 2 * 68, 68, 1), address=k.address)  # (B, S, H, D)
        self.refused(ValueError, "k: the head stride of 68 elements (136 bytes) is not a multiple of 16 bytes (a row "
                     "of D=64 f16 elements is 128 bytes, read in 16-byte units", q, odd_rows, v, out=o)

    def test_devices_and_layout(self):
        q, k, v, o = operands()
        self.refused(ValueError, "k is on cuda:1, q on cuda:0; every operand must be on one GPU", q,
                     FakeArray(k.shape, address=k.address, device_id=1), v, out=o)
        with self.assertRaises(ValueError) as caught:
            flashcore.attention(q, k, v, out=o, layout="sbhd")
        self.assertIn("layout 'sbhd' is not one of 'bshd', 'bhsd'", str(caught.exception))

    def test_unknown_variant(self):
        q, k, v, o = operands()
        with self.assertRaises(ValueError) as caught:
            flashcore.attention(q, k, v, out=o, variant="no_such_template")
        self.assertIn("no_such_template", str(caught.exception))
        self.assertEqual(caught.exception.stage, "validate")

    @unittest.skipUnless(NO_GPU, "with a GPU the fake pointers would be launched on")
    def test_no_gpu_error_text(self):
        q, k, v, o = operands()
        for layout in ("bshd", "bhsd"):
            q, k, v, o = operands(layout=layout)
            with self.assertRaises(flashcore.FlashcoreError) as caught:
                flashcore.attention(q, k, v, out=o, layout=layout, causal=True)
            e = caught.exception
            self.assertIn(e.code, ("no_driver", "no_device"))
            self.assertNotIsInstance(e, ValueError)
            self.assertEqual(e.stage, "driver")
            self.assertIn("Compile-only work (build, cache) still runs", str(e)) if e.code == "no_driver" else None


class CompileOnly(unittest.TestCase):
    def test_build_then_memory_hit(self):
        first = flashcore.build("reference_attention:dtype=bf16", arch="sm_90")
        self.assertEqual(first["variant"], "reference_attention:dtype=bf16")
        self.assertEqual(first["arch"], "sm_90")
        self.assertIn(first["source"], ("compiled", "disk"))
        self.assertGreater(first["registers"], 0)
        self.assertEqual(len(first["key"]), 32)
        again = flashcore.build("reference_attention:dtype=bf16", arch="sm_90")
        self.assertEqual(again["source"], "memory")
        self.assertEqual(again["key"], first["key"])
        info = flashcore.cache_info()
        self.assertTrue(info["enabled"])
        self.assertGreaterEqual(info["entries"], 1)
        self.assertGreaterEqual(info["memory_hits"], 1)
        self.assertTrue(info["dir"].startswith(os.environ.get("FLASHCORE_CACHE_DIR", info["dir"])))

    def test_build_errors(self):
        with self.assertRaises(ValueError) as caught:
            flashcore.build("attention_mma:block_m=7", arch="sm_90")
        self.assertIn("block_m", str(caught.exception))
        with self.assertRaises(flashcore.FlashcoreValueError) as caught:
            flashcore.build("attention_mma", arch="sm_75")  # min_sm 80
        self.assertEqual(caught.exception.code, "bad_input")
        with self.assertRaises(ValueError):
            flashcore.build("reference_attention", arch="sm_nope")

    def test_resolve_for_an_arch(self):
        auto = flashcore.resolve(shape="1,8,8,512,512,64", dtype="f16", arch="sm_90")
        self.assertEqual(auto["source"], "heuristic")
        self.assertTrue(auto["variant"].startswith("attention_mma:"))
        fallback = flashcore.resolve(shape=(1, 4, 4, 100, 100, 100), arch="sm_90")  # D not a multiple of 8
        self.assertEqual(fallback["source"], "fallback")
        self.assertEqual(fallback["variant"], "reference_attention:dtype=f16")
        explicit = flashcore.resolve(shape="1,8,512,64", variant="reference_attention", dtype="bf16")
        self.assertEqual(explicit, {"variant": "reference_attention:dtype=bf16", "source": "explicit",
                                    "why": "given by the caller"})
        with self.assertRaises(ValueError):
            flashcore.resolve(shape="1,8,3,512,512,64", arch="sm_90")  # Hq % Hkv
        with self.assertRaises(ValueError):
            flashcore.resolve(shape="1,8,x,64", arch="sm_90")

    @unittest.skipUnless(NO_GPU, "with a GPU resolve() asks it")
    def test_resolve_without_arch_needs_a_gpu(self):
        with self.assertRaises(flashcore.FlashcoreError) as caught:
            flashcore.resolve(shape="1,8,512,64")
        self.assertIn(caught.exception.code, ("no_driver", "no_device"))

    def test_templates(self):
        by_id = {t["template"]: t for t in flashcore.templates()}
        self.assertIn("reference_attention", by_id)
        self.assertIn("attention_mma", by_id)
        mma = {p["name"]: p for p in by_id["attention_mma"]["params"]}
        self.assertEqual(mma["head_dim"]["bind"], "D")
        self.assertIn(128, mma["head_dim"]["values"])


class Package(unittest.TestCase):
    def test_installed_package_carries_templates(self):
        if os.environ.get("FLASHCORE_EXPECT_WHEEL") != "1":
            self.skipTest("the build-tree package has no template copy (the library embeds them)")
        folder = flashcore.template_dir()
        self.assertIsNotNone(folder)
        self.assertTrue(os.path.isfile(os.path.join(folder, "attention_mma.cu")))
        self.assertTrue(os.path.isfile(os.path.join(folder, "common", "attention_params.h")))
        self.assertIn("site-packages", flashcore.__file__)

    def test_error_classes(self):
        self.assertTrue(issubclass(flashcore.FlashcoreValueError, ValueError))
        self.assertTrue(issubclass(flashcore.FlashcoreTypeError, TypeError))
        self.assertTrue(issubclass(flashcore.FlashcoreError, RuntimeError))


if __name__ == "__main__":
    unittest.main()
