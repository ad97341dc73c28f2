#include "models/weights/ggml_quant.h"

#include <array>
#include <cmath>
#include <limits>

#include <torch/torch.h>

#include "models/base/error.h"

namespace s2v::weights {

namespace {

struct TypeEntry {
  GgmlType type;
  GgmlTypeInfo info;
};

// Block sizes from ggml-common.h (QK4_0 = 32, QK_K = 256; bytes = sizeof(block_*)).
constexpr std::array<TypeEntry, 13> kTypes = {{
    {GgmlType::F32, {"F32", 1, 4}},
    {GgmlType::F16, {"F16", 1, 2}},
    {GgmlType::Q4_0, {"Q4_0", 32, 18}},
    {GgmlType::Q4_1, {"Q4_1", 32, 20}},
    {GgmlType::Q5_0, {"Q5_0", 32, 22}},
    {GgmlType::Q5_1, {"Q5_1", 32, 24}},
    {GgmlType::Q8_0, {"Q8_0", 32, 34}},
    {GgmlType::Q2_K, {"Q2_K", 256, 84}},
    {GgmlType::Q3_K, {"Q3_K", 256, 110}},
    {GgmlType::Q4_K, {"Q4_K", 256, 144}},
    {GgmlType::Q5_K, {"Q5_K", 256, 176}},
    {GgmlType::Q6_K, {"Q6_K", 256, 210}},
    {GgmlType::BF16, {"BF16", 1, 2}},
}};

// Values decoded per step, so that a 5120x13824 weight never has a full-size temporary. On a
// GPU a step's float32 temporaries are 16 MB each (few kernel launches). On the CPU they are
// 128 kB: they stay in cache and in malloc's heap (large ones are fresh mmaps whose page faults
// cost more than the arithmetic), and the steps are spread over the threads.
int64_t chunk_values(const torch::Device& dev) { return dev.is_cpu() ? int64_t(1) << 15 : int64_t(1) << 22; }

// [B, 1] float32: the little-endian IEEE half at byte `off` of each block (exact widening, as
// GGML_FP16_TO_FP32).
torch::Tensor half_at(const torch::Tensor& raw, int64_t off) {
  return raw.slice(1, off, off + 2).contiguous().view(torch::kFloat16).to(torch::kFloat32);
}

// [B, n] uint8: bytes [off, off + n) of each block.
torch::Tensor bytes_at(const torch::Tensor& raw, int64_t off, int64_t n) { return raw.slice(1, off, off + n); }

// The shift amounts 0, stride, 2*stride, ... (n of them) as uint8 on dev, made there (no copy
// from the host).
torch::Tensor shifts(int64_t n, int64_t stride, const torch::Device& dev) {
  return torch::arange(0, n * stride, stride, torch::TensorOptions().dtype(torch::kUInt8).device(dev));
}

// Low nibbles then high nibbles of qs along dim: byte j holds value j (low) and j + 16 (high).
// Bit shifts (LibTorch has no shift operators), elementwise in the integer dtype of t.
torch::Tensor shr(const torch::Tensor& t, const torch::Tensor& n) { return torch::bitwise_right_shift(t, n); }
torch::Tensor shr(const torch::Tensor& t, int64_t n) { return torch::bitwise_right_shift(t, n); }
torch::Tensor shl(const torch::Tensor& t, int64_t n) { return torch::bitwise_left_shift(t, n); }

torch::Tensor nibbles(const torch::Tensor& qs, int64_t dim) { return torch::cat({qs & 15, shr(qs, 4)}, dim); }

// Small integers (|v| < 2^24) as float32, exactly, as C converts them in ggml's expressions. Every
// arithmetic op below has operands of one dtype: LibTorch 1.13's CPU kernels fall back to a slow
// element-by-element cast for mixed dtypes (a uint8 * float mul is hundreds of times slower).
torch::Tensor f32(const torch::Tensor& t) { return t.to(torch::kFloat32); }

// Each decoder reads raw [B, block_bytes] (uint8) and writes dst [B, block_values] (float32,
// contiguous), one ATen op per ggml operation in ggml's order (dequantize_row_* in ggml-quants.c):
// ATen's float mul/sub/add round each result (a sub or add is a fused a + (+-1)*b, which is
// exact), so no product is fused into a later subtraction and the float32 results equal ggml's.

// Q8_0: y = qs * d
void q8_0(const torch::Tensor& raw, torch::Tensor& dst) {
  torch::mul_out(dst, f32(bytes_at(raw, 2, 32).view(torch::kInt8)), half_at(raw, 0));
}

// Q4_0: y = (nibble - 8) * d
void q4_0(const torch::Tensor& raw, torch::Tensor& dst) {
  torch::mul_out(dst, f32(nibbles(bytes_at(raw, 2, 16), 1)) - 8, half_at(raw, 0));
}

// Q4_1: y = nibble * d + m
void q4_1(const torch::Tensor& raw, torch::Tensor& dst) {
  torch::mul_out(dst, f32(nibbles(bytes_at(raw, 4, 16), 1)), half_at(raw, 0));
  dst.add_(half_at(raw, 2));
}

// The 5-bit values of Q5_0/Q5_1 (uint8 [B, 32]): the nibble with bit j of qh (a u32 LE at byte
// qh_off) as its bit 4.
torch::Tensor five_bit(const torch::Tensor& raw, int64_t qh_off) {
  const int64_t B = raw.size(0);
  auto bits = shifts(8, 1, raw.device());
  auto hb = (shr(bytes_at(raw, qh_off, 4).unsqueeze(2), bits) & 1).reshape({B, 32});  // bit j: byte j/8
  return nibbles(bytes_at(raw, qh_off + 4, 16), 1) | shl(hb, 4);
}

// Q5_0: y = (q - 16) * d
void q5_0(const torch::Tensor& raw, torch::Tensor& dst) {
  torch::mul_out(dst, f32(five_bit(raw, 2)) - 16, half_at(raw, 0));
}

// Q5_1: y = q * d + m
void q5_1(const torch::Tensor& raw, torch::Tensor& dst) {
  torch::mul_out(dst, f32(five_bit(raw, 4)), half_at(raw, 0));
  dst.add_(half_at(raw, 2));
}

// The 2-bit fields of Q2_K/Q3_K in output order: for each half of 128 values and shift 0, 2, 4,
// 6, the 32 bytes of the half (16 with one scale, 16 with the next). qs: [B, 64] -> [B, 16, 16]
// uint8, indexed [B, scale, value within the scale].
torch::Tensor two_bit(const torch::Tensor& qs) {
  const int64_t B = qs.size(0);
  return (shr(qs.reshape({B, 2, 1, 32}), shifts(4, 2, qs.device()).view({1, 1, 4, 1})) & 3).reshape({B, 16, 16});
}

// Q2_K (scales[16], qs[64], d, dmin): y = (d * sc) * q - (dmin * m)
void q2_k(const torch::Tensor& raw, torch::Tensor& dst) {
  const int64_t B = raw.size(0);
  auto sc = bytes_at(raw, 0, 16);
  auto dl = torch::mul(half_at(raw, 80), f32(sc & 15)).unsqueeze(2);  // [B, 16, 1]
  auto ml = torch::mul(half_at(raw, 82), f32(shr(sc, 4))).unsqueeze(2);
  auto y = torch::mul(dl, f32(two_bit(bytes_at(raw, 16, 64))));
  auto out = dst.view({B, 16, 16});
  torch::sub_out(out, y, ml);
}

// Q3_K (hmask[32], qs[64], scales[12], d): y = (d * (s - 32)) * (q - (hmask bit ? 0 : 4))
void q3_k(const torch::Tensor& raw, torch::Tensor& dst) {
  const int64_t B = raw.size(0);
  const auto dev = raw.device();
  auto s = bytes_at(raw, 96, 12);
  auto s_lo = s.slice(1, 0, 8);
  // 6-bit scale i: low 4 bits from scales[i] (i < 8) or scales[i-8] >> 4; high 2 bits are
  // (scales[8 + i%4] >> 2*(i/4)) & 3.
  auto low = torch::cat({s_lo & 15, shr(s_lo, 4)}, 1);  // [B, 16]
  auto high = (shr(s.slice(1, 8, 12).unsqueeze(1), shifts(4, 2, dev).view({1, 4, 1})) & 3).reshape({B, 16});
  auto dl = torch::mul(half_at(raw, 108), f32(low | shl(high, 4)) - 32).unsqueeze(2);  // [B, 16, 1]
  // The hmask bit of step k (half * 4 + shift step) is bit k of hmask[l] for the same 32 l.
  auto steps = shifts(8, 1, dev).view({1, 2, 4, 1});
  auto hbit = (shr(bytes_at(raw, 0, 32).reshape({B, 1, 1, 32}), steps) & 1).reshape({B, 16, 16});
  // q | hbit << 2 minus 4 is q - 4 without the bit and q with it.
  auto q = f32(two_bit(bytes_at(raw, 32, 64)) | shl(hbit, 2)) - 4;
  auto out = dst.view({B, 16, 16});
  torch::mul_out(out, dl, q);
}

// The 6-bit scales and mins of Q4_K/Q5_K (ggml's get_scale_min_k4): s: [B, 12] -> two [B, 8].
std::pair<torch::Tensor, torch::Tensor> scale_min_k4(const torch::Tensor& s) {
  auto s0 = s.slice(1, 0, 4), s1 = s.slice(1, 4, 8), s2 = s.slice(1, 8, 12);
  auto sc = torch::cat({s0 & 63, (s2 & 15) | shl(shr(s0, 6), 4)}, 1);
  auto mn = torch::cat({s1 & 63, shr(s2, 4) | shl(shr(s1, 6), 4)}, 1);
  return {sc, mn};
}

// Q4_K / Q5_K (d, dmin, scales[12], [qh[32]], qs[128]): 8 sub-blocks of 32; chunk c of 64 values
// takes the low nibbles of qs[32c..] (sub-block 2c), then the high ones (2c + 1). Q5_K sets bit 4
// of sub-block j's values from bit j of qh[l]. y = (d * sc) * q - (dmin * m)
void q45_k(const torch::Tensor& raw, torch::Tensor& dst, bool five) {
  const int64_t B = raw.size(0);
  auto [sc, mn] = scale_min_k4(bytes_at(raw, 4, 12));
  auto d1 = torch::mul(half_at(raw, 0), f32(sc)).unsqueeze(2);  // [B, 8, 1]
  auto m1 = torch::mul(half_at(raw, 2), f32(mn)).unsqueeze(2);
  auto q = nibbles(bytes_at(raw, five ? 48 : 16, 128).reshape({B, 4, 1, 32}), 2).reshape({B, 8, 32});
  if (five) {
    auto bits = shifts(8, 1, raw.device()).view({1, 8, 1});
    q = q | shl(shr(bytes_at(raw, 16, 32).reshape({B, 1, 32}), bits) & 1, 4);
  }
  auto y = torch::mul(d1, f32(q));
  auto out = dst.view({B, 8, 32});
  torch::sub_out(out, y, m1);
}

// Q6_K (ql[128], qh[64], scales[16] int8, d): per half of 128, value 32k + l (k < 4, l < 32) is
// the low (k < 2) or high nibble of ql[l + 32*(k%2)] with bits 2k, 2k+1 of qh[l] on top, minus 32;
// value i of the block uses scale i/16. y = (d * sc) * q
void q6_k(const torch::Tensor& raw, torch::Tensor& dst) {
  const int64_t B = raw.size(0);
  const auto dev = raw.device();
  auto ql = bytes_at(raw, 0, 128).reshape({B, 2, 1, 2, 32});  // [half, nibble, k % 2, l]
  auto lo = (shr(ql, shifts(2, 4, dev).view({1, 1, 2, 1, 1})) & 15).reshape({B, 2, 4, 32});
  auto qh = bytes_at(raw, 128, 64).reshape({B, 2, 1, 32});
  auto hi = shr(qh, shifts(4, 2, dev).view({1, 1, 4, 1})) & 3;
  auto q = (f32(lo | shl(hi, 4)) - 32).reshape({B, 16, 16});
  auto ds = torch::mul(half_at(raw, 208), f32(bytes_at(raw, 192, 16).view(torch::kInt8))).unsqueeze(2);
  auto out = dst.view({B, 16, 16});
  torch::mul_out(out, ds, q);
}

void decode_blocks(GgmlType t, const torch::Tensor& raw, torch::Tensor& dst) {
  switch (t) {
    case GgmlType::Q8_0: q8_0(raw, dst); return;
    case GgmlType::Q4_0: q4_0(raw, dst); return;
    case GgmlType::Q4_1: q4_1(raw, dst); return;
    case GgmlType::Q5_0: q5_0(raw, dst); return;
    case GgmlType::Q5_1: q5_1(raw, dst); return;
    case GgmlType::Q2_K: q2_k(raw, dst); return;
    case GgmlType::Q3_K: q3_k(raw, dst); return;
    case GgmlType::Q4_K: q45_k(raw, dst, false); return;
    case GgmlType::Q5_K: q45_k(raw, dst, true); return;
    case GgmlType::Q6_K: q6_k(raw, dst); return;
    default: break;
  }
  throw Error(std::string("dequantize: ") + ggml_type_info(t).name + " is not a block type",
              ErrorKind::InvalidArgument);
}

torch::ScalarType float_type_of(GgmlType t) {
  return t == GgmlType::F32 ? torch::kFloat32 : t == GgmlType::F16 ? torch::kFloat16 : torch::kBFloat16;
}

}  // namespace

const GgmlTypeInfo* ggml_type_info(uint32_t id) {
  for (auto& e : kTypes)
    if (static_cast<uint32_t>(e.type) == id) return &e.info;
  return nullptr;
}

const GgmlTypeInfo& ggml_type_info(GgmlType t) {
  static const GgmlTypeInfo e4m3{"F8_E4M3", 1, 1}, e5m2{"F8_E5M2", 1, 1};
  if (t == GgmlType::F8_E4M3) return e4m3;
  if (t == GgmlType::F8_E5M2) return e5m2;
  const auto* info = ggml_type_info(static_cast<uint32_t>(t));
  if (!info)
    throw Error("unknown ggml type id " + std::to_string(static_cast<uint32_t>(t)), ErrorKind::InvalidArgument);
  return *info;
}

std::string ggml_type_id_name(uint32_t id) {
  // ggml.h's enum ggml_type; empty entries were removed from ggml.
  static const char* const names[] = {
      "F32",    "F16",     "Q4_0",    "Q4_1",    "",        "",       "Q5_0",   "Q5_1",   "Q8_0",
      "Q8_1",   "Q2_K",    "Q3_K",    "Q4_K",    "Q5_K",    "Q6_K",   "Q8_K",   "IQ2_XXS", "IQ2_XS",
      "IQ3_XXS", "IQ1_S",  "IQ4_NL",  "IQ3_S",   "IQ2_S",   "IQ4_XS", "I8",     "I16",    "I32",
      "I64",    "F64",     "IQ1_M",   "BF16",    "",        "",       "",       "TQ1_0",  "TQ2_0",
      "",       "",        "",        "MXFP4",   "NVFP4",   "Q1_0",   "Q2_0"};
  if (id < std::size(names) && names[id][0] != '\0') return names[id];
  return "type " + std::to_string(id);
}

std::optional<GgmlType> ggml_type_from_name(const std::string& name) {
  for (auto& e : kTypes)
    if (name == e.info.name) return e.type;
  return std::nullopt;
}

bool is_block_quantized(GgmlType t) { return ggml_type_info(t).block_values > 1; }

namespace {

// FP8 bytes -> float32 * scale in out (any floating dtype), rows a chunk at a time: one table
// lookup per byte (the 256 values of the format, exact in float32), one float32 multiply by the
// scale, one rounding into out's dtype. The same formula as the scaled-FP8 view (source_views.h).
void dequantize_fp8(const PackedTensor& p, torch::Tensor& out) {
  const bool e4m3 = p.type == GgmlType::F8_E4M3;
  std::vector<float> table(256);
  for (int i = 0; i < 256; ++i) {
    const int s = i >> 7;
    float v;
    if (e4m3) {
      const int e = (i >> 3) & 15, m = i & 7;
      v = (e == 15 && m == 7) ? std::numeric_limits<float>::quiet_NaN()
          : e == 0            ? std::ldexp(static_cast<float>(m) / 8.0f, -6)
                              : std::ldexp(1.0f + static_cast<float>(m) / 8.0f, e - 7);
    } else {
      const int e = (i >> 2) & 31, m = i & 3;
      v = e == 31 ? (m ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity())
          : e == 0 ? std::ldexp(static_cast<float>(m) / 4.0f, -14)
                   : std::ldexp(1.0f + static_cast<float>(m) / 4.0f, e - 15);
    }
    table[static_cast<size_t>(i)] = s ? -v : v;
  }
  const auto dev = p.data.device();
  const auto lut = torch::from_blob(table.data(), {256}, torch::kFloat32).clone().to(dev);
  const int64_t numel = p.numel();
  const int64_t rows = p.shape.empty() ? 1 : p.shape.front();
  const int64_t cols = rows > 0 ? numel / rows : 0;
  auto scale = p.scale.defined() ? p.scale.to(dev, torch::kFloat32).reshape({-1}) : torch::ones({1}, lut.options());
  if (scale.numel() != 1 && scale.numel() != rows)
    throw Error("dequantize: an FP8 tensor of " + std::to_string(rows) + " rows has " + std::to_string(scale.numel()) +
                    " scales (one per tensor or one per row expected)",
                ErrorKind::InvalidArgument);
  auto data = p.data.contiguous().view({rows, cols});
  auto dst = out.view({rows, cols});
  const int64_t step = std::max<int64_t>(1, chunk_values(dev) / std::max<int64_t>(cols, 1));
  for (int64_t r = 0; r < rows; r += step) {
    const int64_t n = std::min(step, rows - r);
    auto v = lut.index_select(0, data.slice(0, r, r + n).reshape({-1}).to(torch::kLong)).view({n, cols});
    v.mul_(scale.numel() == 1 ? scale : scale.slice(0, r, r + n).unsqueeze(1));
    dst.slice(0, r, r + n).copy_(v);
  }
}

}  // namespace

int64_t PackedTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

uint64_t ggml_bytes(GgmlType t, uint64_t numel) {
  const auto& info = ggml_type_info(t);
  const auto block = static_cast<uint64_t>(info.block_values);
  if (numel % block != 0)
    throw Error(std::to_string(numel) + " values are not a whole number of " + info.name + " blocks (" +
                    std::to_string(block) + " values each)",
                ErrorKind::InvalidArgument);
  return numel / block * static_cast<uint64_t>(info.block_bytes);
}

torch::Tensor dequantize(const PackedTensor& p, torch::ScalarType dtype, torch::Tensor out) {
  if (p.type == GgmlType::F8_E4M3 || p.type == GgmlType::F8_E5M2) {
    if (!p.data.defined() || p.data.scalar_type() != torch::kUInt8 || p.data.numel() != p.numel())
      throw Error("dequantize: an FP8 tensor of " + std::to_string(p.numel()) + " values needs as many uint8 bytes",
                  ErrorKind::InvalidArgument);
    if (!out.defined()) out = torch::empty(p.shape, torch::TensorOptions().dtype(dtype).device(p.data.device()));
    else if (out.device() != p.data.device() || out.scalar_type() != dtype || out.numel() != p.numel() ||
             !out.is_contiguous())
      throw Error(std::string("dequantize: the reused buffer must be a contiguous ") + c10::toString(dtype) +
                      " tensor of " + std::to_string(p.numel()) + " values on " + p.data.device().str(),
                  ErrorKind::InvalidArgument);
    torch::NoGradGuard no_grad;
    dequantize_fp8(p, out);
    return out;
  }
  const auto& info = ggml_type_info(p.type);
  const int64_t numel = p.numel();
  if (!c10::isFloatingType(dtype))
    throw Error(std::string("dequantize: cannot decode ") + info.name + " into " + c10::toString(dtype),
                ErrorKind::InvalidArgument);
  if (!p.data.defined() || p.data.scalar_type() != torch::kUInt8 ||
      static_cast<uint64_t>(p.data.numel()) != ggml_bytes(p.type, static_cast<uint64_t>(numel)))
    throw Error(std::string("dequantize: a ") + info.name + " tensor of " + std::to_string(numel) +
                    " values needs " + std::to_string(ggml_bytes(p.type, static_cast<uint64_t>(numel))) +
                    " uint8 bytes, got " + (p.data.defined() ? std::to_string(p.data.numel()) : "none"),
                ErrorKind::InvalidArgument);
  const auto dev = p.data.device();
  if (out.defined()) {
    if (out.device() != dev || out.scalar_type() != dtype || out.numel() != numel || !out.is_contiguous())
      throw Error(std::string("dequantize: the reused buffer must be a contiguous ") + c10::toString(dtype) +
                      " tensor of " + std::to_string(numel) + " values on " + dev.str(),
                  ErrorKind::InvalidArgument);
  } else {
    out = torch::empty(p.shape, torch::TensorOptions().dtype(dtype).device(dev));
  }
  auto data = p.data.contiguous();
  auto flat = out.view({numel});
  if (!is_block_quantized(p.type)) {
    flat.copy_(data.view(float_type_of(p.type)));
    return out;
  }
  torch::NoGradGuard no_grad;
  const int64_t blocks = numel / info.block_values;
  const int64_t step = std::max<int64_t>(1, chunk_values(dev) / info.block_values);
  auto raw = data.view({blocks, info.block_bytes});
  const bool direct = dtype == torch::kFloat32;
  // Blocks [first, last), a step at a time.
  auto decode_range = [&](int64_t first, int64_t last) {
    torch::Tensor scratch;
    for (int64_t b = first; b < last; b += step) {
      const int64_t n = std::min(step, last - b);
      auto target = flat.slice(0, b * info.block_values, (b + n) * info.block_values).view({n, info.block_values});
      if (!direct && (!scratch.defined() || scratch.size(0) != n))
        scratch = torch::empty({n, info.block_values}, torch::TensorOptions().dtype(torch::kFloat32).device(dev));
      auto& dst = direct ? target : scratch;
      decode_blocks(p.type, raw.slice(0, b, b + n), dst);
      if (!direct) target.copy_(dst);  // one rounding of the float32 value
    }
  };
  // Ops inside at::parallel_for run single-threaded, so each thread decodes its own steps.
  if (dev.is_cpu()) at::parallel_for(0, blocks, step, decode_range);
  else decode_range(0, blocks);
  return out;
}

namespace {

// [n, 2] uint8: the IEEE halves of a float32 [n] (little-endian bytes)
torch::Tensor half_bytes(const torch::Tensor& v) {
  return v.to(torch::kFloat16).contiguous().view(torch::kUInt8).view({v.size(0), 2});
}

// Q8_0: d = max|x| / 127, q = round(x / d) (q = 0 for an all-zero block)
torch::Tensor quantize_q8_0(const torch::Tensor& x) {
  // x: [n, 32] float32
  auto d = x.abs().amax(1) / 127.0;
  auto dh = d.to(torch::kFloat16).to(torch::kFloat32);
  auto inv = torch::where(dh > 0, 1.0 / dh, torch::zeros_like(dh));
  auto q = (x * inv.unsqueeze(1)).round().clamp(-127, 127).to(torch::kInt8).view(torch::kUInt8);
  return torch::cat({half_bytes(d), q}, 1);  // [n, 34]
}

// Q4_K: 8 sub-blocks of 32, y = d*sc*q - dmin*m (6-bit sc, m; 4-bit q)
torch::Tensor quantize_q4_k(const torch::Tensor& x) {
  // x: [n, 256] float32
  const int64_t n = x.size(0);
  auto sub = x.view({n, 8, 32});
  auto lo = sub.amin(2).clamp_max(0.0), hi = sub.amax(2);  // the min is <= 0 so that m >= 0
  auto scale = (hi - lo) / 15.0, minv = -lo;              // [n, 8]
  auto d = scale.amax(1) / 63.0, dmin = minv.amax(1) / 63.0;
  auto dh = d.to(torch::kFloat16).to(torch::kFloat32), dminh = dmin.to(torch::kFloat16).to(torch::kFloat32);
  auto safe = [](const torch::Tensor& a, const torch::Tensor& b) {
    return torch::where(b > 0, a / b.clamp_min(1e-30), torch::zeros_like(a));
  };
  auto sc = safe(scale, dh.unsqueeze(1)).round().clamp(0, 63).to(torch::kInt32);
  auto m = safe(minv, dminh.unsqueeze(1)).round().clamp(0, 63).to(torch::kInt32);
  auto step = dh.unsqueeze(1) * sc.to(torch::kFloat32);  // [n, 8]
  auto q = safe(sub + (dminh.unsqueeze(1) * m.to(torch::kFloat32)).unsqueeze(2), step.unsqueeze(2))
               .round()
               .clamp(0, 15)
               .to(torch::kInt32);  // [n, 8, 32]
  // scales[12], the inverse of get_scale_min_k4
  auto lo4 = [](const torch::Tensor& t) { return t.slice(1, 0, 4); };
  auto hi4 = [](const torch::Tensor& t) { return t.slice(1, 4, 8); };
  auto s0 = (lo4(sc) & 63) | shl(shr(hi4(sc), 4), 6);
  auto s1 = (lo4(m) & 63) | shl(shr(hi4(m), 4), 6);
  auto s2 = (hi4(sc) & 15) | shl(hi4(m) & 15, 4);
  auto scales = torch::cat({s0, s1, s2}, 1).to(torch::kUInt8);  // [n, 12]
  // qs[128]: chunk c holds sub-block 2c in the low nibbles and 2c + 1 in the high ones
  auto pairs = q.view({n, 4, 2, 32});
  auto qs = (pairs.select(2, 0) | shl(pairs.select(2, 1), 4)).to(torch::kUInt8).view({n, 128});
  return torch::cat({half_bytes(d), half_bytes(dmin), scales, qs}, 1);  // [n, 144]
}

}  // namespace

PackedTensor quantize(const torch::Tensor& weights, GgmlType type) {
  if (type != GgmlType::Q8_0 && type != GgmlType::Q4_K)
    throw Error(std::string("quantize: ") + ggml_type_info(type).name + " is not one of Q8_0, Q4_K",
                ErrorKind::InvalidArgument);
  const auto& info = ggml_type_info(type);
  if (weights.dim() == 0 || weights.size(-1) % info.block_values != 0)
    throw Error(std::string("quantize: rows of ") + std::to_string(weights.dim() ? weights.size(-1) : 1) +
                    " values are not whole " + info.name + " blocks of " + std::to_string(info.block_values),
                ErrorKind::InvalidArgument);
  torch::NoGradGuard no_grad;
  PackedTensor p;
  p.type = type;
  p.shape = weights.sizes().vec();
  auto x = weights.detach().to(torch::kFloat32).contiguous().view({-1, info.block_values});
  p.data = (type == GgmlType::Q8_0 ? quantize_q8_0(x) : quantize_q4_k(x)).contiguous().view({-1});
  return p;
}

}  // namespace s2v::weights
