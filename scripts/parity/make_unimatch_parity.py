#!/usr/bin/python3
"""Parity vectors for the LibTorch UniMatch (models/unimatch) from the official code.

    /usr/bin/python3 scripts/parity/make_unimatch_parity.py OFFICIAL_CHECKOUT OUT_DIR

OFFICIAL_CHECKOUT is a checkout of github.com/autonomousvision/unimatch (the folder holding the
`unimatch` package); OUT_DIR receives unimatch_*.safetensors and unimatch_manifest.json.

The official modules are imported from the checkout and run on CPU in float32. The weights are
not stored (the smallest model with the refinement head has ~4 M parameters, since its widths are
fixed at 128): every tensor of the state_dict is filled by a deterministic formula that the C++
test reproduces (`formula_weights` below, described in each file's metadata `weights`), and each
file stores the float64 sum of every tensor (`wsum.<name>`) so that the test can check it has
rebuilt the same weights before comparing outputs.

File layout (safetensors, written by hand: 8-byte little-endian header length, JSON header, raw
little-endian data): `in.img0`, `in.img1` ([B, 3, H, W] in 0..255, RGB), `out.flow` (the last of
flow_preds), `sub.*` intermediate results; `__metadata__` holds JSON strings `config` (UniMatch
constructor), `call` (forward arguments), `reference`, `weights`.
"""

import json
import math
import os
import struct
import sys

import torch
import torch.nn.functional as F


def formula_weights(model):
    """Fills every state_dict tensor in sorted-name order k = 0, 1, ...:
    t = arange(numel) (float64), s = sin(t * 0.61803 + t * t * 1.1e-4 + 1.7 * (k + 1));
    LayerNorm weights (1-D '*.norm1.weight' / '*.norm2.weight'): 1 + 0.1 s; other 1-D tensors: 0.1 s;
    tensors of rank >= 2: s * sqrt(2 / fan_in), fan_in = numel / shape[0]; cast to float32."""
    sd = model.state_dict()
    new = {}
    for k, name in enumerate(sorted(sd.keys())):
        ref = sd[name]
        n = ref.numel()
        t = torch.arange(n, dtype=torch.float64)
        s = torch.sin(t * 0.61803 + t * t * 1.1e-4 + 1.7 * (k + 1))
        if ref.dim() == 1 and (name.endswith('norm1.weight') or name.endswith('norm2.weight')):
            v = 1.0 + 0.1 * s
        elif ref.dim() <= 1:
            v = 0.1 * s
        else:
            v = s * math.sqrt(2.0 / (n / ref.shape[0]))
        new[name] = v.to(torch.float32).view(ref.shape)
    model.load_state_dict(new)
    return {name: float(t.double().sum()) for name, t in new.items()}


WEIGHTS_NOTE = formula_weights.__doc__.replace('\n    ', ' ').strip()


def write_safetensors(path, tensors, metadata):
    header = {'__metadata__': metadata}
    offset = 0
    blobs = []
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        if t.dtype == torch.float32:
            dtype, raw = 'F32', t.numpy().astype('<f4').tobytes()
        elif t.dtype == torch.float64:
            dtype, raw = 'F64', t.numpy().astype('<f8').tobytes()
        else:
            raise ValueError(name)
        header[name] = {'dtype': dtype, 'shape': list(t.shape), 'data_offsets': [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    h = json.dumps(header, separators=(',', ':')).encode('utf-8')
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def smooth_images(b, h, w, seed):
    """A textured image pair in 0..255: image 1 is image 0 moved by a smooth sub-pixel field."""
    g = torch.Generator().manual_seed(seed)
    base = torch.rand(b, 3, h // 4 + 2, w // 4 + 2, generator=g) * 255
    img0 = F.interpolate(base, size=(h, w), mode='bicubic', align_corners=True).clamp(0, 255)
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32))
    dx = 2.5 + 1.5 * torch.sin(ys / h * 3.1)
    dy = -1.25 + 1.0 * torch.cos(xs / w * 2.3)
    gx = 2 * (xs - dx) / (w - 1) - 1
    gy = 2 * (ys - dy) / (h - 1) - 1
    grid = torch.stack([gx, gy], -1)[None].repeat(b, 1, 1, 1)
    img1 = F.grid_sample(img0, grid, mode='bilinear', padding_mode='border', align_corners=True)
    img1 = img1 + torch.rand(img1.shape, generator=g) * 4
    return img0.contiguous(), img1.clamp(0, 255).contiguous()


def official_inference(model, image1, image2, padding_factor, call):
    """The resizing of evaluate_flow.inference_flow: transpose portrait inputs, resize to the
    nearest multiple of padding_factor (bilinear, align_corners), run, resize the flow back and
    rescale it, transpose back."""
    transpose = False
    if image1.size(-2) > image1.size(-1):
        image1 = torch.transpose(image1, -2, -1)
        image2 = torch.transpose(image2, -2, -1)
        transpose = True
    size = [int(math.ceil(image1.size(-2) / padding_factor)) * padding_factor,
            int(math.ceil(image1.size(-1) / padding_factor)) * padding_factor]
    ori = image1.shape[-2:]
    if size[0] != ori[0] or size[1] != ori[1]:
        image1 = F.interpolate(image1, size=size, mode='bilinear', align_corners=True)
        image2 = F.interpolate(image2, size=size, mode='bilinear', align_corners=True)
    flow = model(image1, image2, task='flow', **call)['flow_preds'][-1]
    if size[0] != ori[0] or size[1] != ori[1]:
        flow = F.interpolate(flow, size=ori, mode='bilinear', align_corners=True)
        flow[:, 0] = flow[:, 0] * ori[-1] / size[-1]
        flow[:, 1] = flow[:, 1] * ori[-2] / size[-2]
    if transpose:
        flow = torch.transpose(flow, -2, -1)
    return flow


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    checkout, out_dir = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    sys.path.insert(0, checkout)
    # The flow model needs only torch; stand-ins for optional third-party imports of the package.
    import types
    for missing in ('imageio', 'einops'):
        try:
            __import__(missing)
        except ImportError:
            sys.modules[missing] = types.ModuleType(missing)
    from unimatch.unimatch import UniMatch  # noqa: E402

    torch.set_grad_enabled(False)
    torch.manual_seed(0)

    # --- the real configuration: names and shapes only ---
    real = UniMatch(feature_channels=128, num_scales=2, upsample_factor=4, num_head=1,
                    ffn_dim_expansion=4, num_transformer_layers=6, reg_refine=True, task='flow')
    shapes = {k: list(v.shape) for k, v in sorted(real.state_dict().items())}
    manifest = {
        'source': 'UniMatch(feature_channels=128, num_scales=2, upsample_factor=4, num_head=1, '
                  'ffn_dim_expansion=4, num_transformer_layers=6, reg_refine=True, task="flow") '
                  'state_dict (autonomousvision/unimatch), the config of '
                  'gmflow-scale2-regrefine6-mixdata-train320x576-4e7b215d.pth',
        'num_parameters': sum(int(v.numel()) for v in real.state_dict().values()),
        'shapes': shapes,
    }
    with open(os.path.join(out_dir, 'unimatch_manifest.json'), 'w') as f:
        json.dump(manifest, f, indent=0)
        f.write('\n')
    print('manifest: %d tensors, %d parameters' % (len(shapes), manifest['num_parameters']))

    cases = [
        # name, constructor, call, image size, batch
        ('unimatch_scale2_regrefine2',
         dict(feature_channels=128, num_scales=2, upsample_factor=4, num_head=1, ffn_dim_expansion=2,
              num_transformer_layers=2, reg_refine=True),
         dict(attn_type='swin', attn_splits_list=[2, 8], corr_radius_list=[-1, 4],
              prop_radius_list=[-1, 1], num_reg_refine=2),
         (64, 96), 1),
        ('unimatch_scale2_tiny',
         dict(feature_channels=32, num_scales=2, upsample_factor=4, num_head=1, ffn_dim_expansion=2,
              num_transformer_layers=2, reg_refine=False),
         dict(attn_type='swin', attn_splits_list=[2, 8], corr_radius_list=[-1, 4],
              prop_radius_list=[-1, 1], num_reg_refine=1),
         (64, 96), 2),
        ('unimatch_scale1_tiny',
         dict(feature_channels=32, num_scales=1, upsample_factor=8, num_head=1, ffn_dim_expansion=2,
              num_transformer_layers=3, reg_refine=False),
         dict(attn_type='swin', attn_splits_list=[2], corr_radius_list=[-1], prop_radius_list=[-1],
              num_reg_refine=1),
         (64, 96), 1),
    ]
    for seed, (name, config, call, (h, w), b) in enumerate(cases):
        model = UniMatch(task='flow', **config).eval()
        wsum = formula_weights(model)
        img0, img1 = smooth_images(b, h, w, seed + 1)

        subs = {}

        def backbone_hook(_m, _inp, out):
            # the lowest resolution only (high to low resolution; the rest would double the size)
            subs['sub.backbone.%d' % (len(out) - 1)] = out[-1].clone()
        calls = []

        def transformer_hook(_m, _inp, out):
            calls.append(len(calls))
            if len(calls) == 1:  # the coarsest scale
                subs['sub.transformer.scale0.feature0'] = out[0].clone()
        hb = model.backbone.register_forward_hook(backbone_hook)
        ht = model.transformer.register_forward_hook(transformer_hook)
        flow = model(img0, img1, task='flow', pred_bidir_flow=False, **call)['flow_preds'][-1]
        hb.remove()
        ht.remove()

        tensors = {'in.img0': img0, 'in.img1': img1, 'out.flow': flow}
        tensors.update(subs)
        meta = {
            'reference': 'unimatch/unimatch.py UniMatch.forward(img0, img1, task="flow") '
                         "['flow_preds'][-1] in eval mode (autonomousvision/unimatch)",
            'config': json.dumps(config),
            'call': json.dumps(call),
            'weights': WEIGHTS_NOTE,
        }
        if name == 'unimatch_scale2_tiny':
            # evaluate_flow.inference_flow's resizing on a portrait pair whose size is not a multiple of 32
            p0, p1 = smooth_images(1, 70, 50, 11)
            tensors['in.portrait0'], tensors['in.portrait1'] = p0, p1
            tensors['out.portrait_flow'] = official_inference(model, p0, p1, 32, call)
            meta['portrait'] = json.dumps({'padding_factor': 32,
                                           'reference': 'evaluate_flow.py inference_flow resizing'})
        for k, v in wsum.items():
            tensors['wsum.' + k] = torch.tensor([v], dtype=torch.float64)
        path = os.path.join(out_dir, name + '.safetensors')
        write_safetensors(path, tensors, meta)
        mag = flow.norm(dim=1)
        print('%s: flow %s, mean |flow| %.4f, max %.4f, %d bytes' % (
            name, list(flow.shape), float(mag.mean()), float(mag.max()), os.path.getsize(path)))


if __name__ == '__main__':
    main()
