#!/usr/bin/python3
"""Times the official Wan 2.1 VAE (WanVAE_ of wan/modules/vae2_1.py) on the CPU, for bench_vae's
side-by-side column. The official code is not part of this project: point --wan (or
$S2V_WAN22_DIR) at a checkout of github.com/Wan-Video/Wan2.2. Needs Debian's python3-torch (the
same LibTorch 1.13 that S2V links). Two stand-ins fill what that environment lacks: einops is not
packaged by Debian (a minimal rearrange for the two patterns vae2_1.py uses), and torch 1.13 has
no F.scaled_dot_product_attention (the plain softmax(q k^T / sqrt(d)) v that torch 2 computes
without a mask or dropout).

Usage: /usr/bin/python3 scripts/bench/wan_vae_official.py --wan DIR [--threads N] [--repeats N]
           CASE [CASE ...]
  CASE: OP:DIM:FRAMES:HxW, OP encode (FRAMES video frames, H x W pixels) or decode (FRAMES latent
  frames, H x W pixels of the output), DIM the VAE width (96 the real Wan 2.1 VAE, 8 the demo
  model's). Random weights: the time does not depend on their values.
Prints one JSON object per case on stdout: {"case": CASE, "seconds": mean wall seconds per run,
"cpu_seconds": mean CPU seconds of the process per run (all threads), "out_shape": [...],
"threads": N}.
"""
import argparse
import importlib.util
import json
import os
import sys
import time
import types


def install_einops_standin():
    """vae2_1.py uses rearrange for 'b c t h w -> (b t) c h w' and its inverse only."""
    try:
        import einops  # noqa: F401
        return
    except ImportError:
        pass

    def rearrange(x, pattern, **axes):
        p = pattern.replace(" ", "")
        if p == "bcthw->(bt)chw":
            b, c, t, h, w = x.shape
            return x.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w)
        if p == "(bt)chw->bcthw":
            t = axes["t"]
            bt, c, h, w = x.shape
            return x.reshape(bt // t, t, c, h, w).permute(0, 2, 1, 3, 4)
        raise NotImplementedError("einops stand-in: pattern " + pattern)

    module = types.ModuleType("einops")
    module.rearrange = rearrange
    sys.modules["einops"] = module


def install_sdpa_standin(torch):
    import torch.nn.functional as F
    if hasattr(F, "scaled_dot_product_attention"):
        return

    def scaled_dot_product_attention(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False):
        if attn_mask is not None or dropout_p != 0.0 or is_causal:
            raise NotImplementedError("scaled_dot_product_attention stand-in: plain attention only")
        scores = torch.matmul(q, k.transpose(-2, -1)) * (q.shape[-1] ** -0.5)
        return torch.matmul(scores.softmax(-1), v)

    F.scaled_dot_product_attention = scaled_dot_product_attention


def load_official(wan_dir):
    path = os.path.join(wan_dir, "wan", "modules", "vae2_1.py")
    if not os.path.isfile(path):
        sys.exit("wan_vae_official.py: no wan/modules/vae2_1.py under " + wan_dir)
    install_einops_standin()
    spec = importlib.util.spec_from_file_location("wan_official_vae2_1", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wan", default=os.environ.get("S2V_WAN22_DIR", ""))
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: LibTorch's default)")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("cases", nargs="+")
    args = ap.parse_args()
    if not args.wan:
        sys.exit("wan_vae_official.py: pass --wan DIR or set S2V_WAN22_DIR to a Wan2.2 checkout")

    import torch

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    install_sdpa_standin(torch)
    official = load_official(args.wan)
    # Wan2_1_VAE's published latent statistics are not needed for timing: any per-channel scale
    # costs the same two elementwise passes.
    scale = [torch.zeros(16), torch.ones(16)]
    models = {}
    with torch.no_grad():
        for case in args.cases:
            op, dim, frames, size = case.split(":")
            dim, frames = int(dim), int(frames)
            h, w = (int(v) for v in size.lower().split("x"))
            if dim not in models:
                torch.manual_seed(0)
                # the configuration of _video_vae (z_dim 16), at width dim
                models[dim] = official.WanVAE_(dim=dim, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=2,
                                               attn_scales=[], temperal_downsample=[False, True, True],
                                               dropout=0.0).eval()
            model = models[dim]
            if op == "encode":
                x = torch.rand(1, 3, frames, h, w) * 2 - 1
                run = lambda: model.encode(x, scale)  # noqa: E731
            elif op == "decode":
                z = torch.randn(1, 16, frames, h // 8, w // 8)
                run = lambda: model.decode(z, scale)  # noqa: E731
            else:
                sys.exit("wan_vae_official.py: unknown operation in case " + case)
            repeats = max(1, args.repeats)
            out = None
            t0, c0 = time.perf_counter(), time.process_time()
            for _ in range(repeats):
                out = run()
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            print(json.dumps({"case": case, "seconds": wall / repeats, "cpu_seconds": cpu / repeats,
                              "out_shape": list(out.shape), "threads": torch.get_num_threads()}), flush=True)


if __name__ == "__main__":
    main()
