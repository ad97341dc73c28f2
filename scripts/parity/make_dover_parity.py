#!/usr/bin/python3
"""Parity vectors for models/dover from the official DOVER code (github VQAssessment/DOVER).

usage: /usr/bin/python3 scripts/parity/make_dover_parity.py OFFICIAL_CHECKOUT OUT_DIR

OFFICIAL_CHECKOUT holds the official `dover/` package and `dover.yml` (e.g. `git archive HEAD dover
dover.yml | tar x`). Needs torch (1.13) and numpy, yaml; the other imports of the official package
(einops, timm, decord, cv2, skvideo, torchvision, tqdm) are replaced by small stand-ins below, only
for what the modules under test call. Everything runs on CPU in float32, seeded.

Writes to OUT_DIR:
  dover_tiny.safetensors   a tiny DOVER (official class DOVER with SwinTransformer3D and ConvNeXt3D
                           built small): `model.*` = its state_dict, `in.technical`, `in.aesthetic`,
                           `out.technical_score`, `out.aesthetic_score` (head maps), `out.fused`;
                           `sub.technical_backbone.out`, `sub.aesthetic_backbone.out`,
                           `sub.technical_backbone.layers.N.in/out` (each Swin stage on its own).
  dover_tiny.pth           the same state_dict written by torch.save (flat, as DOVER.pth).
  dover_views.safetensors  `in.videoN` uint8 [C,T,H,W] RGB, `out.videoN.technical` (official
                           get_spatial_fragments with the random offsets fixed to the centre of
                           their range), `out.videoN.aesthetic` (get_resized_video),
                           `cfg.videoN.fragments` (the grid and sizes used).
  dover_manifest.json      every state_dict name and shape of DOVER(**dover.yml model args).
"""
import json
import math
import os
import struct
import sys
import types

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import yaml


# ---- stand-ins for third-party imports of the official package ----
def _module(name, **attrs):
    m = types.ModuleType(name)
    for k, v in attrs.items():
        setattr(m, k, v)
    sys.modules[name] = m
    return m


def _rearrange(x, pattern):
    # the two patterns swin_backbone.py uses
    if pattern in ("n c d h w -> n d h w c", "b c d h w -> b d h w c"):
        return x.permute(0, 2, 3, 4, 1)
    if pattern in ("n d h w c -> n c d h w", "b d h w c -> b c d h w"):
        return x.permute(0, 4, 1, 2, 3)
    raise NotImplementedError(pattern)


class _DropPath(nn.Module):  # identity at inference
    def __init__(self, p=0.0):
        super().__init__()

    def forward(self, x):
        return x


def _trunc_normal_(t, std=1.0, **kw):
    with torch.no_grad():
        return t.normal_(0, std).clamp_(-2 * std, 2 * std)


def _register_model(fn):
    return fn


class _Resize:
    """torchvision.transforms.Resize((h, w)) on a uint8 tensor batch [N, C, H, W], as torchvision
    0.14 does it for tensors (the decord torch bridge gives tensors): float32, bilinear,
    align_corners=False, no antialias, clamp to [0, 255], round, back to uint8."""

    def __init__(self, size):
        self.size = size

    def __call__(self, img):
        dtype = img.dtype
        x = img.to(torch.float32)
        x = F.interpolate(x, size=list(self.size), mode="bilinear", align_corners=False)
        if dtype == torch.uint8:
            x = x.clamp(0, 255).round().to(dtype)
        return x


_module("einops", rearrange=_rearrange)
_module("timm")
_module("timm.models")
_module("timm.models.layers", DropPath=_DropPath, trunc_normal_=_trunc_normal_)
_module("timm.models.registry", register_model=_register_model)
_module("cv2")
_decord = _module("decord", VideoReader=None, cpu=None, gpu=None)
_decord.bridge = types.SimpleNamespace(set_bridge=lambda *a: None)
_module("skvideo")
_module("skvideo.io")
_module("tqdm", tqdm=lambda x, *a, **k: x)
_tv = _module("torchvision")
_tv.transforms = _module("torchvision.transforms", Resize=_Resize, RandomResizedCrop=None)
_tv.ops = _module("torchvision.ops", roi_align=None, roi_pool=None)

# no downloads: ConvNeXt3D's ImageNet inflation gets an empty state dict
torch.hub.load_state_dict_from_url = lambda *a, **k: {"model": {}}


# ---- safetensors writer ----
DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64", torch.uint8: "U8",
          torch.int32: "I32"}


def save_safetensors(path, tensors, metadata):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        raw = t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    header["__metadata__"] = {k: v if isinstance(v, str) else json.dumps(v) for k, v in metadata.items()}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def randomise(module, gen):
    """Every parameter re-drawn (zero/one initialised parts such as fragment_position_bias_table,
    ConvNeXt's layer scale gamma and the LayerNorms would hide their path otherwise)."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            r = torch.randn(p.shape, generator=gen)
            if p.dim() == 1 and name.endswith("weight"):  # every LayerNorm (conv/linear are >= 2-D)
                p.copy_(1.0 + 0.1 * r)
            elif "position_bias_table" in name:
                p.copy_(0.5 * r)
            elif name.endswith("gamma"):
                p.copy_(0.5 + 0.2 * r)
            else:
                fan_in = max(1, p[0].numel()) if p.dim() > 1 else 4
                p.copy_(r / math.sqrt(fan_in))


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    checkout, out_dir = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    sys.path.insert(0, checkout)
    import dover.datasets.dover_datasets as dd
    from dover.models.conv_backbone import ConvNeXt3D
    from dover.models.evaluator import DOVER
    from dover.models.head import VQAHead
    from dover.models.swin_backbone import SwinTransformer3D

    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1234)

    # ---- tiny DOVER: the official DOVER class with its two backbones replaced by small ones ----
    swin_cfg = dict(patch_size=(2, 4, 4), embed_dim=4, depths=[2, 2, 2, 2], num_heads=[1, 1, 2, 2],
                    window_size=(2, 3, 3), frag_biases=[True, True, True, False])
    conv_cfg = dict(depths=[2, 3, 1, 1], dims=[4, 8, 16, 32])
    head_cfg = dict(in_channels=32, hidden_channels=8)
    model = DOVER(backbone={"technical": {"type": "swin_tiny_grpb"}, "aesthetic": {"type": "conv_tiny"}},
                  backbone_preserve_keys="technical,aesthetic", divide_head=True, vqa_head=head_cfg)
    model.technical_backbone = SwinTransformer3D(use_checkpoint=False, **swin_cfg)
    model.aesthetic_backbone = ConvNeXt3D(**conv_cfg)
    model.technical_head = VQAHead(pre_pool=False, **head_cfg)
    model.aesthetic_head = VQAHead(pre_pool=False, **head_cfg)
    randomise(model, gen)
    model.eval()

    # technical: 8 frames of 40x40 (token grid 4x10x10: padded windows, odd patch merging, a window
    # clamped to a small last stage); aesthetic: 4 frames of 32x48
    technical = torch.randn(1, 3, 8, 40, 40, generator=gen)
    aesthetic = torch.randn(1, 3, 4, 32, 48, generator=gen)

    subs = {}

    def hook(name):
        def f(mod, inp, out):
            subs[name + ".in"] = inp[0].detach().clone()
            subs[name + ".out"] = out.detach().clone()
        return f

    for i, layer in enumerate(model.technical_backbone.layers):
        layer.register_forward_hook(hook("sub.technical_backbone.layers.%d" % i))

    with torch.no_grad():
        t_feat = model.technical_backbone(technical)
        a_feat = model.aesthetic_backbone(aesthetic)
        scores = model({"technical": technical, "aesthetic": aesthetic})
    model.eval()
    results = [s.mean().item() for s in scores]
    # fuse_results of evaluate_one_video.py (technical first, as the views dict is ordered)
    # (the script itself imports decord at the top: take just the function from its source)
    script = os.path.join(checkout, "evaluate_one_video.py")
    src = open(script).read()
    start = src.index("def fuse_results")
    end = src.index("\ndef ", start + 1)
    ns = {"np": np}
    exec(compile(src[start:end], script, "exec"), ns)
    fused = float(ns["fuse_results"](results))

    tensors = {"model." + k: v for k, v in model.state_dict().items()}
    tensors["in.technical"] = technical
    tensors["in.aesthetic"] = aesthetic
    tensors["out.technical_score"] = scores[0]
    tensors["out.aesthetic_score"] = scores[1]
    tensors["out.fused"] = torch.tensor([fused], dtype=torch.float64)
    tensors["sub.technical_backbone.out"] = t_feat
    tensors["sub.aesthetic_backbone.out"] = a_feat
    for k, v in subs.items():
        if k.endswith(".in") or k.endswith(".out"):
            tensors[k] = v
    meta = {
        "reference": "dover/models/evaluator.py DOVER.forward({'technical', 'aesthetic'}) with "
                     "SwinTransformer3D / ConvNeXt3D / VQAHead of dover/models, fuse_results of "
                     "evaluate_one_video.py",
        "config": {"technical": swin_cfg, "aesthetic": conv_cfg, "head": head_cfg},
        "results": results,
        "note": "float32 CPU; all parameters re-drawn; scores are the head maps before the mean",
    }
    save_safetensors(os.path.join(out_dir, "dover_tiny.safetensors"), tensors, meta)
    torch.save(model.state_dict(), os.path.join(out_dir, "dover_tiny.pth"))

    # ---- views ----
    def smooth_video(c, t, h, w):
        yy = torch.linspace(0, 1, h).view(1, 1, h, 1)
        xx = torch.linspace(0, 1, w).view(1, 1, 1, w)
        base = 127 + 80 * torch.sin(6 * xx + 3 * yy + torch.arange(c).view(c, 1, 1, 1))
        noise = 40 * torch.rand(c, t, h, w, generator=gen)
        v = (base + noise).clamp(0, 255).to(torch.uint8)
        # laid out as spatial_temporal_view_decomposition gets it from decord: a stack of [H, W, C]
        # frames permuted to [C, T, H, W] (the memory layout picks the interpolation kernel)
        return v.permute(1, 2, 3, 0).contiguous().permute(3, 0, 1, 2)

    def centred_randint(high, size, *a, **k):
        # the official random offset in [0, high) replaced by the centre of its range
        return torch.full(size if isinstance(size, tuple) else tuple(size), high // 2, dtype=torch.int64)

    # (name, video, fragment options, aesthetic size): the official 7x7 grid of 32x32 on one frame;
    # a frame smaller than the fragment canvas (upsampled first, the grid laid on the original
    # size as the official code does); a two-frame wide clip with a small 3x5 grid of 12x12
    views = [("video0", smooth_video(3, 1, 240, 300), dict(fragments_h=7, fragments_w=7, fsize_h=32, fsize_w=32), (224, 224)),
             ("video1", smooth_video(3, 1, 50, 60), dict(fragments_h=4, fragments_w=4, fsize_h=16, fsize_w=16), (40, 56)),
             ("video2", smooth_video(3, 2, 47, 100), dict(fragments_h=3, fragments_w=5, fsize_h=12, fsize_w=12), (30, 20))]
    vt = {}
    real_randint = torch.randint
    for name, v, fopt, asize in views:
        vt["in." + name] = v
        torch.randint = centred_randint
        try:
            frag = dd.get_spatial_fragments(v, aligned=v.shape[1], **fopt)
        finally:
            torch.randint = real_randint
        assert torch.equal(frag, frag.round().clamp(0, 255))
        vt["out." + name + ".technical"] = frag.to(torch.uint8)  # exact small integers
        vt["out." + name + ".aesthetic"] = dd.get_resized_video(v, size_h=asize[0], size_w=asize[1])
        vt["cfg." + name + ".fragments"] = torch.tensor(
            [fopt["fragments_h"], fopt["fragments_w"], fopt["fsize_h"], fopt["fsize_w"], asize[0], asize[1]])
    save_safetensors(os.path.join(out_dir, "dover_views.safetensors"), vt, {
        "reference": "dover/datasets/dover_datasets.py get_spatial_fragments (fragments 7x7 of "
                     "32x32, aligned = T, torch.randint -> high // 2) and get_resized_video "
                     "(224x224; torchvision Resize replaced by its 0.14 tensor semantics: "
                     "bilinear, no antialias, round to uint8)",
        "note": "in.*: uint8 [C, T, H, W] RGB; out.*.technical: the official float32 view "
                "[C, T, fh*fragments_h, fw*fragments_w] stored as uint8 (its values are integers); "
                "out.*.aesthetic: uint8 [C, T, size_h, size_w]; cfg.*.fragments: fragments_h, "
                "fragments_w, fsize_h, fsize_w, aesthetic size_h, size_w",
    })

    # ---- manifest of the real model ----
    with open(os.path.join(checkout, "dover.yml")) as f:
        opt = yaml.safe_load(f)
    full = DOVER(**opt["model"]["args"])
    shapes = {k: list(v.shape) for k, v in full.state_dict().items()}
    dtypes = {k: str(v.dtype).replace("torch.", "") for k, v in full.state_dict().items()}
    manifest = {
        "source": "DOVER(**dover.yml model.args) state_dict (VQAssessment/DOVER), the layout of DOVER.pth",
        "num_parameters": int(sum(p.numel() for p in full.parameters())),
        "shapes": shapes,
        "integral": sorted(k for k, d in dtypes.items() if d.startswith("int")),
    }
    with open(os.path.join(out_dir, "dover_manifest.json"), "w") as f:
        json.dump(manifest, f, indent=0, sort_keys=True)
        f.write("\n")
    print("fused", fused, "results", results, "params", manifest["num_parameters"])


if __name__ == "__main__":
    main()
