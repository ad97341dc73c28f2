#!/usr/bin/python3
"""Parity vectors for models/light_asd from the official Light-ASD code (github Junhua-Liao/Light-ASD).

usage: /usr/bin/python3 scripts/parity/make_light_asd_parity.py OFFICIAL_CHECKOUT OUT_DIR [PSF_CHECKOUT]

OFFICIAL_CHECKOUT holds the official ASD.py, loss.py and model/ (e.g. `git archive HEAD | tar x`).
Needs torch (1.13) and numpy. ASD.py's other imports (pandas, tqdm) are replaced by empty
stand-ins and Module.cuda() is a no-op, so class ASD is built as is, on CPU, in float32, seeded.

The MFCC reference is python_speech_features.mfcc when it imports. Otherwise, when PSF_CHECKOUT (a
checkout of github jameslyons/python_speech_features) is given, that package is imported from it,
with scipy.fftpack.dct replaced by an orthonormal DCT-II in numpy when scipy is missing. Otherwise
the reference is the numpy transcription of its documented algorithm below (mfcc_numpy). When a
package is available the transcription is also checked against it.

Writes to OUT_DIR:
  light_asd_weights.safetensors  the state_dict of class ASD with random weights, every float
                                 tensor stored as int8 with a power-of-two scale per tensor
                                 (metadata "scales": {name: scale}; value = int8 * scale, exact in
                                 float32) so the full-size network fits in 1 MB; num_batches_tracked
                                 as I64. The network ran on exactly these values.
  light_asd_io.safetensors       `in.mfcc` F32 [1, 40, 13], `in.frames` U8 [1, 10, 112, 112];
                                 outputs F32: `out.audio_embed`, `out.visual_embed` [1, 10, 128]
                                 (forward_audio/visual_frontend), `out.outs_av`, `out.outs_v`
                                 [10, 128] (ASD_Model.forward), `out.logits_av` [10, 2]
                                 (lossAV.FC), `out.prob_av` [10] (softmax class 1, as
                                 ASD.evaluate_network), `out.score_av` [10] (lossAV.forward with
                                 labels=None, the raw class-1 logit that Columbia_test.py uses).
  light_asd_mfcc.safetensors     `in.audio` I16 [8123] (tones, noise and 800 zero samples),
                                 `out.mfcc` F64 [N, 13] = mfcc(audio, 16000, numcep=13,
                                 winlen=0.025, winstep=0.010) as Columbia_test.py calls it;
                                 `in.short` I16 [300] and `out.mfcc_short` (one padded frame).
                                 Metadata "reference" names which reference made them.
  light_asd_manifest.json        {"shapes": {name: dims}} of ASD().state_dict() (the names and
                                 shapes of weight/pretrain_AVA_CVPR.model).
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


# ---- stand-ins ------------------------------------------------------------------------------
def _stub(name):
    if name in sys.modules:
        return
    try:
        __import__(name)
    except ImportError:
        sys.modules[name] = types.ModuleType(name)


def dct2_ortho(x, type=2, axis=-1, norm=None):
    """scipy.fftpack.dct(x, type=2, axis=axis, norm='ortho') in numpy."""
    assert type == 2 and norm == "ortho"
    x = np.moveaxis(np.asarray(x, dtype=np.float64), axis, -1)
    n = x.shape[-1]
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    m = np.cos(np.pi * k * (2 * i + 1) / (2.0 * n)) * np.where(k == 0, math.sqrt(1.0 / n), math.sqrt(2.0 / n))
    return np.moveaxis(x @ m.T, -1, axis)


# ---- safetensors, written by hand -----------------------------------------------------------
_DTYPES = {np.float32: "F32", np.float64: "F64", np.int8: "I8", np.uint8: "U8", np.int16: "I16", np.int64: "I64"}


def save_safetensors(path, tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        a = np.array(tensors[name], order="C", copy=True)  # keeps 0-d (ascontiguousarray would not)
        dtype = _DTYPES[a.dtype.type]
        raw = a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = {k: (v if isinstance(v, str) else json.dumps(v)) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


# ---- MFCC: python_speech_features' algorithm (base.py mfcc/fbank, sigproc.py) in numpy ------
def mfcc_numpy(signal, samplerate=16000, winlen=0.025, winstep=0.01, numcep=13, nfilt=26, nfft=512,
               lowfreq=0, highfreq=None, preemph=0.97, ceplifter=22, append_energy=True):
    def round_half_up(x):
        return int(math.floor(x + 0.5))

    highfreq = highfreq or samplerate / 2
    sig = np.asarray(signal)
    sig = np.append(sig[0], sig[1:] - preemph * sig[:-1])  # pre-emphasis
    flen, fstep = round_half_up(winlen * samplerate), round_half_up(winstep * samplerate)
    n = len(sig)
    frames_n = 1 if n <= flen else 1 + int(math.ceil((1.0 * n - flen) / fstep))
    pad = np.concatenate((sig, np.zeros(((frames_n - 1) * fstep + flen - n,))))
    idx = np.arange(flen)[None, :] + (np.arange(frames_n) * fstep)[:, None]
    frames = pad[idx]  # rectangular window
    pspec = 1.0 / nfft * np.square(np.abs(np.fft.rfft(frames, nfft)))
    energy = pspec.sum(1)
    energy = np.where(energy == 0, np.finfo(float).eps, energy)
    mel = lambda hz: 2595 * np.log10(1 + hz / 700.0)
    hz = lambda m: 700 * (10 ** (m / 2595.0) - 1)
    bins = np.floor((nfft + 1) * hz(np.linspace(mel(lowfreq), mel(highfreq), nfilt + 2)) / samplerate)
    fb = np.zeros((nfilt, nfft // 2 + 1))
    for j in range(nfilt):
        for i in range(int(bins[j]), int(bins[j + 1])):
            fb[j, i] = (i - bins[j]) / (bins[j + 1] - bins[j])
        for i in range(int(bins[j + 1]), int(bins[j + 2])):
            fb[j, i] = (bins[j + 2] - i) / (bins[j + 2] - bins[j + 1])
    feat = pspec @ fb.T
    feat = np.where(feat == 0, np.finfo(float).eps, feat)
    feat = dct2_ortho(np.log(feat), type=2, axis=1, norm="ortho")[:, :numcep]
    if ceplifter > 0:
        feat = feat * (1 + (ceplifter / 2.0) * np.sin(np.pi * np.arange(numcep) / ceplifter))
    if append_energy:
        feat[:, 0] = np.log(energy)
    return feat


def mfcc_reference(psf_checkout):
    """(function, description): the package when importable, else the numpy transcription."""
    try:
        import python_speech_features as psf
        return psf.mfcc, "python_speech_features %s" % getattr(psf, "__version__", "(installed)")
    except ImportError:
        pass
    if psf_checkout:
        try:
            import scipy.fftpack  # noqa: F401
        except ImportError:
            scipy = types.ModuleType("scipy")
            fftpack = types.ModuleType("scipy.fftpack")
            fftpack.dct = dct2_ortho
            scipy.fftpack = fftpack
            sys.modules["scipy"], sys.modules["scipy.fftpack"] = scipy, fftpack
        sys.path.insert(0, psf_checkout)
        import python_speech_features as psf
        return psf.mfcc, "python_speech_features from %s (scipy.fftpack.dct: numpy stand-in)" % psf_checkout
    return mfcc_numpy, "numpy transcription of python_speech_features.mfcc (package not installed)"


# ---- random weights exact in int8 × 2^k ------------------------------------------------------
def quantised_state(asd, gen):
    """Replaces every float tensor of asd's state_dict by int8 * 2^e values; returns
    ({name: int8 or int64 array}, {name: scale})."""
    stored, scales = {}, {}
    with torch.no_grad():
        for name, t in asd.state_dict().items():
            if not t.is_floating_point():
                stored[name] = t.numpy().astype(np.int64)
                continue
            leaf = name.rsplit(".", 1)[1]
            is_bn = ".bn_" in name
            if is_bn and leaf == "running_var":
                q, scale = torch.randint(16, 128, t.shape, generator=gen), 2.0 ** -6
            elif is_bn and leaf == "weight":
                q, scale = torch.randint(32, 128, t.shape, generator=gen), 2.0 ** -7
            elif is_bn:  # bias, running_mean
                q, scale = torch.randint(-32, 33, t.shape, generator=gen), 2.0 ** -7
            else:
                fan_in = t[0].numel() if t.dim() > 1 else 128
                std = math.sqrt(2.0 / fan_in) if t.dim() > 1 else 0.05
                scale = 2.0 ** round(math.log2(std / 32))
                q = torch.clamp(torch.round(torch.randn(t.shape, generator=gen) * 32), -127, 127)
            q = q.to(torch.int8)
            t.copy_(q.to(torch.float32) * scale)
            stored[name] = q.numpy()
            scales[name] = scale
    return stored, scales


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    official, out_dir = os.path.abspath(sys.argv[1]), sys.argv[2]
    psf_checkout = os.path.abspath(sys.argv[3]) if len(sys.argv) == 4 else None
    os.makedirs(out_dir, exist_ok=True)
    for name in ("pandas", "tqdm"):
        _stub(name)
    nn.Module.cuda = lambda self, device=None: self  # CPU only
    sys.path.insert(0, official)
    from ASD import ASD  # noqa: E402  (the official class: model, lossAV, lossV)

    torch.manual_seed(0)
    asd = ASD()
    asd.eval()
    state = asd.state_dict()
    with open(os.path.join(out_dir, "light_asd_manifest.json"), "w") as f:
        json.dump({"source": "Light-ASD ASD().state_dict() (github Junhua-Liao/Light-ASD, ASD.py)",
                   "num_parameters": int(sum(t.numel() for t in state.values() if t.is_floating_point())),
                   "shapes": {k: list(v.shape) for k, v in state.items()}}, f, indent=1)

    gen = torch.Generator().manual_seed(1)
    stored, scales = quantised_state(asd, gen)
    save_safetensors(os.path.join(out_dir, "light_asd_weights.safetensors"), stored,
                     {"scales": scales, "source": "ASD.py state_dict, int8 * scale"})

    # inputs: 10 video frames (0.4 s) and 40 MFCC frames
    T = 10
    frames = torch.randint(0, 256, (1, T, 112, 112), generator=gen, dtype=torch.uint8)
    mfcc_in = torch.randn(1, 4 * T, 13, generator=gen) * 8.0
    with torch.no_grad():
        m = asd.model
        audio_embed = m.forward_audio_frontend(mfcc_in)
        visual_embed = m.forward_visual_frontend(frames.float())
        outs_av, outs_v = m(mfcc_in, frames.float())
        logits_av = asd.lossAV.FC(outs_av)
        prob_av = torch.softmax(logits_av, dim=-1)[:, 1]
        score_av = torch.from_numpy(asd.lossAV.forward(outs_av, labels=None))
        logits_v = asd.lossV.FC(outs_v)
    save_safetensors(os.path.join(out_dir, "light_asd_io.safetensors"), {
        "in.mfcc": mfcc_in.numpy(), "in.frames": frames.numpy(),
        "out.audio_embed": audio_embed.numpy(), "out.visual_embed": visual_embed.numpy(),
        "out.outs_av": outs_av.numpy(), "out.outs_v": outs_v.numpy(),
        "out.logits_av": logits_av.numpy(), "out.logits_v": logits_v.numpy(),
        "out.prob_av": prob_av.numpy(), "out.score_av": score_av.numpy().astype(np.float32),
    }, {"source": "ASD_Model forward on the weights of light_asd_weights.safetensors"})

    # MFCC: 0.5 s of tones + noise with 800 zero samples inside, int16 as wavfile.read gives
    rng = np.random.default_rng(2)
    n = 8123
    t = np.arange(n) / 16000.0
    x = 6000 * np.sin(2 * np.pi * 220 * t) + 2500 * np.sin(2 * np.pi * 1870 * t) + 900 * rng.standard_normal(n)
    x[3000:3800] = 0
    audio = np.clip(np.round(x), -32768, 32767).astype(np.int16)
    short = np.clip(np.round(3000 * rng.standard_normal(300)), -32768, 32767).astype(np.int16)
    ref, what = mfcc_reference(psf_checkout)
    feat = ref(audio, 16000, numcep=13, winlen=0.025, winstep=0.010)
    feat_short = ref(short, 16000, numcep=13, winlen=0.025, winstep=0.010)
    if ref is not mfcc_numpy:  # the transcription against the package
        for a, s in ((audio, feat), (short, feat_short)):
            d = np.abs(mfcc_numpy(a) - s).max()
            assert d < 1e-9, "numpy transcription differs from %s by %g" % (what, d)
    save_safetensors(os.path.join(out_dir, "light_asd_mfcc.safetensors"), {
        "in.audio": audio, "out.mfcc": np.asarray(feat, np.float64),
        "in.short": short, "out.mfcc_short": np.asarray(feat_short, np.float64),
    }, {"reference": what})
    print("Light-ASD: %d parameters; MFCC reference: %s; mfcc %s" %
          (sum(p.numel() for p in asd.parameters()), what, feat.shape))


if __name__ == "__main__":
    main()
