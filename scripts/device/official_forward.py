#!/usr/bin/env python3
"""The official WanModel_S2V forward, timed on the same shapes and the same numbers as bench_dit.

usage: python3 scripts/device/official_forward.py --wan DIR --ours BENCH_JSON [--device cuda]
           [--steps N] [--warmup N] [--json OUT] [--compare OURS_OUTPUT.safetensors]

DIR holds the official `wan/` package (Wan-Video/Wan2.2, placed by scripts/device-prepare.sh into
the ignored third_party/wan2.2; never committed). BENCH_JSON is what `bench_dit --json` wrote: the
DiT config, size, frames, dtype, CFG flag. The model is built with that config, every parameter and
input is drawn exactly as bench_dit draws it (named_randn: torch.randn from a generator of the
device seeded with FNV-1a-64(name) >> 1, scaled as in bench/dit/bench_dit.cpp), and one step (the
conditional and, with CFG, the unconditional forward plus the guidance mix, as speech2video.py's
loop) is timed under torch.amp.autocast(param dtype) and no_grad, as speech2video.py runs it. With
--compare, the outputs of the last step are compared with bench_dit --save_output's.

What is not the official code, and why (printed too):
  - flash_attn: not installed on the device machine (and no wheel for its PyTorch). A stand-in
    `flash_attn.flash_attn_varlen_func` runs torch's scaled_dot_product_attention on the same
    q/k/v per sequence (all sequences of one call have equal lengths here, so one batched call);
    the official `flash_attention` wrapper around it (dtype casts, cu_seqlens) runs unchanged.
  - diffusers: not installed there either; when `import diffusers` fails, stand-ins give
    ConfigMixin / ModelMixin / register_to_config (construction plumbing, not in the forward) and
    AdaLayerNorm (in the forward: the audio AdaIN, 12 small norms), re-stated from diffusers'
    definition (linear(silu(temb)) -> (shift, scale) with chunk_dim 1, LayerNorm without affine).
  - easydict (only to read wan/configs/wan_s2v_14B.py for the cross-check): a dict stand-in.
  - On a CPU (the dry run) the official flash_attention asserts a CUDA tensor, so there the
    attention of model.py / model_s2v.py is the same computation through scaled_dot_product_attention
    (PyTorch >= 2) or plain softmax attention.
The package's __init__ files (which import every pipeline: decord, librosa, ...) are not run: the
modules are imported with bare parent packages.
"""
import argparse
import importlib
import inspect
import json
import math
import os
import struct
import sys
import time
import types

import torch
import torch.nn as nn

NOTES = []


def note(text):
    NOTES.append(text)
    print("official_forward: " + text, flush=True)


# ---- the numbers bench_dit draws ---------------------------------------------------------------

def fnv1a64(name):
    h = 1469598103934665603
    for c in name.encode():
        h ^= c
        h = (h * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


def named_randn(name, shape, device):
    g = torch.Generator(device=device)
    g.manual_seed(fnv1a64(name) >> 1)
    return torch.randn(tuple(shape), generator=g, device=device, dtype=torch.float32)


def fill_named_random(model, device):
    with torch.no_grad():
        for name, p in model.named_parameters():
            z = named_randn(name, p.shape, device)
            if p.dim() >= 2:
                z.mul_(1.0 / math.sqrt(p.numel() // p.shape[0]))
            elif name.endswith("weight"):
                z.mul_(0.05).add_(1.0)
            else:
                z.mul_(0.02)
            p.copy_(z)


# ---- stand-ins for what the device machine lacks ------------------------------------------------

def module(name, **attrs):
    m = types.ModuleType(name)
    for k, v in attrs.items():
        setattr(m, k, v)
    sys.modules[name] = m
    return m


def sdpa(q, k, v):
    """q, k, v: [B, N, L, D] -> [B, N, Lq, D]; exact softmax attention with scale 1/sqrt(D)."""
    if hasattr(torch.nn.functional, "scaled_dot_product_attention"):
        return torch.nn.functional.scaled_dot_product_attention(q, k, v)
    s = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(q.size(-1))
    return torch.matmul(torch.softmax(s.float(), -1).to(v.dtype), v)


def flash_attn_varlen_func(q, k, v, cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k,
                           dropout_p=0.0, softmax_scale=None, causal=False, window_size=(-1, -1),
                           deterministic=False, **unused):
    """flash_attn's varlen API on SDPA. q: [sum Lq, N, D], k/v: [sum Lk, N, D] -> [sum Lq, N, D]."""
    assert dropout_p == 0.0 and not causal and tuple(window_size) == (-1, -1) and softmax_scale is None
    b = cu_seqlens_q.numel() - 1
    if q.shape[0] == b * max_seqlen_q and k.shape[0] == b * max_seqlen_k:
        # every sequence has the maximum length: one batched call, no device sync for the lengths
        qb = q.view(b, max_seqlen_q, *q.shape[1:]).transpose(1, 2)
        kb = k.view(b, max_seqlen_k, *k.shape[1:]).transpose(1, 2)
        vb = v.view(b, max_seqlen_k, *v.shape[1:]).transpose(1, 2)
        return sdpa(qb, kb, vb).transpose(1, 2).reshape(q.shape[0], q.shape[1], v.shape[-1])
    lq = (cu_seqlens_q[1:] - cu_seqlens_q[:-1]).tolist()
    lk = (cu_seqlens_k[1:] - cu_seqlens_k[:-1]).tolist()
    out, sq, sk = [], 0, 0
    for a, c in zip(lq, lk):
        o = sdpa(q[sq:sq + a].transpose(0, 1)[None], k[sk:sk + c].transpose(0, 1)[None],
                 v[sk:sk + c].transpose(0, 1)[None])
        out.append(o[0].transpose(0, 1))
        sq, sk = sq + a, sk + c
    return torch.cat(out)


def flash_attn_func(q, k, v, **unused):
    """q, k, v: [B, L, N, D] -> [B, L, N, D]."""
    return sdpa(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)).transpose(1, 2)


def _groups(side):
    """'b (t n) c' -> [['b'], ['t', 'n'], ['c']]"""
    out, cur = [], None
    for tok in side.replace("(", " ( ").replace(")", " ) ").split():
        if tok == "(":
            cur = []
        elif tok == ")":
            out.append(cur)
            cur = None
        elif cur is not None:
            cur.append(tok)
        else:
            out.append([tok])
    return out


def rearrange(x, pattern, **sizes):
    """einops.rearrange for patterns of named axes and parenthesised groups (no '...', no literals)."""
    left, right = (_groups(s) for s in pattern.split("->"))
    known = dict(sizes)
    for group, n in zip(left, x.shape):
        unknown = [a for a in group if a not in known]
        prod = 1
        for a in group:
            prod *= known.get(a, 1)
        if len(unknown) == 1:
            known[unknown[0]] = n // prod
    axes = [a for g in left for a in g]
    x = x.reshape([known[a] for a in axes])
    order = [a for g in right for a in g]
    x = x.permute([axes.index(a) for a in order])
    shape = []
    for g in right:
        n = 1
        for a in g:
            n *= known[a]
        shape.append(n)
    return x.reshape(shape)


def install_stand_ins():
    try:
        import flash_attn  # noqa: F401
        note("flash_attn: the installed package")
    except ImportError:
        module("flash_attn", flash_attn_varlen_func=flash_attn_varlen_func, flash_attn_func=flash_attn_func,
               flash_attn_qkvpacked_func=None, __version__="stand-in")
        note("flash_attn: stand-in (flash_attn_varlen_func on torch scaled_dot_product_attention)")
    try:
        import diffusers  # noqa: F401
        import diffusers.models.attention  # noqa: F401
        note("diffusers: the installed package " + diffusers.__version__)
    except ImportError:
        class ConfigMixin:
            pass

        class ModelMixin(nn.Module):
            pass

        class AdaLayerNorm(nn.Module):
            # diffusers.models.normalization.AdaLayerNorm, the arguments audio_utils.py uses
            def __init__(self, embedding_dim, num_embeddings=None, output_dim=None,
                         norm_elementwise_affine=False, norm_eps=1e-5, chunk_dim=0):
                super().__init__()
                assert num_embeddings is None
                self.chunk_dim = chunk_dim
                output_dim = output_dim or embedding_dim * 2
                self.silu = nn.SiLU()
                self.linear = nn.Linear(embedding_dim, output_dim)
                self.norm = nn.LayerNorm(output_dim // 2, norm_eps, norm_elementwise_affine)

            def forward(self, x, timestep=None, temb=None):
                temb = self.linear(self.silu(temb))
                if self.chunk_dim == 1:
                    shift, scale = temb.chunk(2, dim=1)
                    shift, scale = shift[:, None, :], scale[:, None, :]
                else:
                    scale, shift = temb.chunk(2, dim=0)
                return self.norm(x) * (1 + scale) + shift

        class _Logger:
            def get_logger(self, name):
                import logging
                return logging.getLogger(name)

        def register_to_config(fn):
            return fn

        def is_torch_version(op, version):
            return True

        module("diffusers")
        module("diffusers.configuration_utils", ConfigMixin=ConfigMixin, register_to_config=register_to_config)
        module("diffusers.models", ModelMixin=ModelMixin)
        module("diffusers.models.modeling_utils", ModelMixin=ModelMixin)
        module("diffusers.models.attention", AdaLayerNorm=AdaLayerNorm)
        module("diffusers.loaders", FromOriginalModelMixin=type("FromOriginalModelMixin", (), {}),
               PeftAdapterMixin=type("PeftAdapterMixin", (), {}))
        module("diffusers.utils", BaseOutput=dict, is_torch_version=is_torch_version, logging=_Logger())
        note("diffusers: stand-ins (ConfigMixin, ModelMixin, register_to_config; AdaLayerNorm re-stated)")
    try:
        import einops  # noqa: F401
    except ImportError:
        def repeat(x, pattern, **sizes):
            raise NotImplementedError("einops.repeat stand-in (MotionerTransformers only, not in this forward)")
        module("einops", rearrange=rearrange, repeat=repeat)
        note("einops: stand-in rearrange (einops is not installed)")
    try:
        import easydict  # noqa: F401
    except ImportError:
        class EasyDict(dict):
            def __getattr__(self, k):
                return self[k]

            def __setattr__(self, k, v):
                self[k] = v
        module("easydict", EasyDict=EasyDict)


def import_official(wan_dir):
    """wan.modules.s2v.model_s2v without running the package __init__ files."""
    sys.path.insert(0, wan_dir)
    for pkg in ("wan", "wan.modules", "wan.modules.s2v", "wan.distributed", "wan.configs"):
        m = types.ModuleType(pkg)
        m.__path__ = [os.path.join(wan_dir, *pkg.split("."))]
        sys.modules[pkg] = m
    return importlib.import_module("wan.modules.s2v.model_s2v")


def cpu_attention(model_s2v):
    """On a CPU the official flash_attention asserts CUDA: the same attention without that check."""
    model_py = sys.modules["wan.modules.model"]

    def attention(q, k, v, q_lens=None, k_lens=None, dropout_p=0.0, softmax_scale=None, q_scale=None,
                  causal=False, window_size=(-1, -1), deterministic=False, dtype=torch.bfloat16, version=None):
        out_dtype = q.dtype
        o = sdpa(q.transpose(1, 2).to(v.dtype), k.transpose(1, 2).to(v.dtype), v.transpose(1, 2))
        return o.transpose(1, 2).type(out_dtype)

    model_py.flash_attention = attention
    model_s2v.flash_attention = attention
    note("CPU: the official flash_attention (CUDA only) replaced by the same attention on SDPA / softmax")


# ---- safetensors (no package needed) -----------------------------------------------------------

def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    dtypes = {"F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16, "F64": torch.float64}
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        out[k] = torch.frombuffer(bytearray(data[a:b]), dtype=dtypes[v["dtype"]]).reshape(v["shape"])
    return out


def rel_error(a, b):
    a, b = a.double().cpu(), b.double().cpu()
    d = b.norm().item()
    return (a - b).norm().item() / (d if d else 1.0)


def official_14b_case():
    """What bench_dit --shape 14b --size 832*480 --frames 80 --cfg --dtype bfloat16 --json writes,
    from the official config, for a run without our build (the work formula of
    models/wan/dit_cost.h restated)."""
    t = dict(importlib.import_module("wan.configs.wan_s2v_14B").s2v_14B.transformer)
    cfg = dict(t, text_len=512, in_dim=16, out_dim=16, text_dim=4096, audio_num_layers=25)
    width, height, frames = 832, 480, 80
    per_frame = (height // 16) * (width // 16)
    lat = (frames + 3 + 73) // 4 - (73 + 3) // 4
    tokens = per_frame * (lat + 1) + per_frame + per_frame // 4 + per_frame // 4
    note("no bench_dit output: the official 14B config at %dx%d, %d frames, CFG, bf16" % (width, height, frames))
    return dict(case="14B %dx%d %df cfg" % (width, height, frames), dtype="bfloat16", cfg=True, width=width,
                height=height, frames=frames, latent_frames=lat, tokens_formula=tokens, config=cfg,
                parameters=None, parameter_tensors=None, tflop_per_step_formula=None, _tokens=tokens)


# ---- main ---------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wan", required=True)
    ap.add_argument("--ours", help="bench_dit --json output (config and shapes); without it, the "
                    "official 14B config at 832x480, 80 frames, CFG, bf16 (when our build failed)")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--json")
    ap.add_argument("--compare")
    a = ap.parse_args()

    install_stand_ins()
    model_s2v = import_official(os.path.abspath(a.wan))
    ours = json.load(open(a.ours)) if a.ours else official_14b_case()
    dev = torch.device(a.device)
    dtype = {"bfloat16": torch.bfloat16, "float32": torch.float32}[ours["dtype"]]
    if dev.type != "cuda":
        cpu_attention(model_s2v)
    WanModel_S2V = model_s2v.WanModel_S2V

    cfg = dict(ours["config"])
    accepted = inspect.signature(WanModel_S2V.__init__).parameters
    kwargs = {k: (tuple(v) if isinstance(v, list) and k in ("patch_size", "window_size") else v)
              for k, v in cfg.items() if k in accepted}
    if cfg.get("dim") == 5120 and os.path.exists(os.path.join(a.wan, "wan", "configs", "wan_s2v_14B.py")):
        # the 14B run: ours must be the official config, key by key
        official = dict(importlib.import_module("wan.configs.wan_s2v_14B").s2v_14B.transformer)

        def same(x, y):
            return list(x) == list(y) if isinstance(x, (list, tuple)) else x == y
        diff = [k for k, v in official.items() if k in kwargs and not same(v, kwargs[k])]
        note("config: ours vs wan/configs/wan_s2v_14B.py: " + ("the same" if not diff else
                                                              "DIFFERENT in " + ", ".join(diff)))

    # Build on the device (its random init is fast there and overwritten), then the param dtype as
    # from_pretrained(torch_dtype=param_dtype) gives it.
    t0 = time.time()
    if dev.type == "cuda":
        with torch.device(dev):
            model = WanModel_S2V(**kwargs)
    else:
        model = WanModel_S2V(**kwargs)
    model = model.to(dtype).eval().requires_grad_(False)
    fill_named_random(model, dev)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    build_s = time.time() - t0
    n_params = sum(p.numel() for p in model.parameters())
    n_tensors = len(list(model.parameters()))
    if ours["tflop_per_step_formula"] is None:
        L, C = ours["_tokens"], cfg["dim"]
        ours["tflop_per_step_formula"] = 2 * (2 * n_params * L + 4 * L * L * C * cfg["num_layers"]) / 1e12
    elif n_params != ours["parameters"] or n_tensors != ours["parameter_tensors"]:
        note("parameters: official %d in %d tensors, ours %d in %d: NOT the same model"
             % (n_params, n_tensors, ours["parameters"], ours["parameter_tensors"]))

    c = cfg
    h, w = ours["height"] // 8, ours["width"] // 8
    lat = ours["latent_frames"]
    text = min(c["text_len"], 120)

    def inputs(uncond):
        audio = named_randn("in.audio_input", (1, c["audio_num_layers"], c["audio_dim"], lat * 4), dev)
        if uncond:
            audio = audio * 0.0
        return dict(
            x=[named_randn("in.x", (c["in_dim"], lat, h, w), dev).to(dtype)],
            t=torch.tensor([999], dtype=torch.int64, device=dev),
            context=[named_randn("in.context_null" if uncond else "in.context", (text, c["text_dim"]), dev).to(dtype)],
            seq_len=lat * h * w // 4,
            ref_latents=[named_randn("in.ref_latents", (c["in_dim"], 1, h, w), dev)],
            motion_latents=[named_randn("in.motion_latents", (c["in_dim"], 19, h, w), dev)],
            cond_states=[named_randn("in.cond_states", (c["cond_dim"], lat, h, w), dev).to(dtype)],
            audio_input=audio.to(dtype),
            motion_frames=[73, 19],
            add_last_motion=2,
            drop_motion_frames=False)

    arg_c, arg_null = inputs(False), inputs(True)
    guide = 4.5
    out = {}

    def step():
        cond = model(**arg_c)[0]
        out["cond"] = cond
        if ours["cfg"]:
            uncond = model(**arg_null)[0]
            out["uncond"] = uncond
            return uncond + guide * (cond - uncond)
        return cond

    import contextlib
    # as speech2video.py: autocast(param_dtype); float32 needs none (and CPU autocast refuses it)
    autocast = (torch.amp.autocast(dev.type, dtype=dtype) if dtype != torch.float32
                else contextlib.nullcontext())
    times = []
    with autocast, torch.no_grad():
        for _ in range(a.warmup):
            step()
        if dev.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats(dev)
        for _ in range(a.steps):
            t = time.time()
            step()
            if dev.type == "cuda":
                torch.cuda.synchronize()
            times.append(time.time() - t)
    median = sorted(times)[len(times) // 2]
    tflop = ours["tflop_per_step_formula"]
    peak = torch.cuda.max_memory_allocated(dev) if dev.type == "cuda" else None
    result = dict(implementation="official WanModel_S2V (Wan-Video/Wan2.2)", torch=torch.__version__,
                  device=str(dev), dtype=ours["dtype"], cfg=ours["cfg"], case=ours["case"],
                  seconds_per_step=times, seconds_per_step_median=median, tflops_achieved=tflop / median,
                  build_and_fill_seconds=build_s, peak_allocated_bytes=peak, parameters=n_params, notes=NOTES)
    if a.compare:
        theirs = read_safetensors(a.compare)
        result["norm_cond"] = out["cond"].double().norm().item()
        result["norm_cond_ours"] = theirs["out.cond"].double().norm().item()
        result["rel_error_cond_vs_ours"] = rel_error(theirs["out.cond"], out["cond"])
        if ours["cfg"]:
            result["rel_error_uncond_vs_ours"] = rel_error(theirs["out.uncond"], out["uncond"])
    print("%-34s %-10s %-9s %10s %9s %11s %s" % ("case", "impl", "dtype", "s/step", "TFLOP/s", "peak GiB",
                                                  "rel err vs ours (cond)"))
    print("%-34s %-10s %-9s %10.3f %9.1f %11s %s" % (
        ours["case"], "official", ours["dtype"], median, tflop / median,
        "%.2f" % (peak / 2**30) if peak is not None else "n/a",
        "%.3g" % result["rel_error_cond_vs_ours"] if "rel_error_cond_vs_ours" in result else "-"))
    print("build + fill %.1f s; steps: %s s; torch %s" % (build_s, " ".join("%.3f" % t for t in times),
                                                        torch.__version__))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
