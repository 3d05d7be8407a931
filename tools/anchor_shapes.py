#!/usr/bin/env python3
"""sdpa_anchor.py (PyTorch SDPA: cuDNN, FlashAttention-2) on shapes of our choosing instead of
one of its sets, with its timing and JSON schema unchanged: the anchors for a ladder or a
candidate experiment measured in the same run as ours.
Usage: anchor_shapes.py ANCHOR.py --shape B,Hq,Hkv,Sq,Skv,D[,causal] ... [sdpa_anchor options]"""
import argparse
import importlib.util
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("anchor", help="path of sdpa_anchor.py")
    ap.add_argument("--shape", action="append", required=True, help="B,Hq,Hkv,Sq,Skv,D[,causal 0|1]")
    a, rest = ap.parse_known_args()
    shapes = []
    for text in a.shape:
        parts = [int(x) for x in text.split(",")]
        if len(parts) not in (6, 7):
            ap.error(f"--shape {text}: B,Hq,Hkv,Sq,Skv,D[,causal]")
        shapes.append(tuple(parts[:6]) + (bool(parts[6]) if len(parts) == 7 else False,))
    spec = importlib.util.spec_from_file_location("sdpa_anchor", a.anchor)
    anchor = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(anchor)
    sets = anchor.shape_sets()
    anchor.shape_sets = lambda: dict(sets, mission=shapes)  # --set mission now means these shapes
    sys.argv = [a.anchor, "--set", "mission"] + rest
    anchor.main()


if __name__ == "__main__":
    main()
