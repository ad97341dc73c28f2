#include "models/weights/quant_write.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include "models/base/atomic_file.h"
#include "models/base/error.h"

namespace s2v::weights {

namespace {

struct BlockFormat {
  int64_t values, bytes;
};

BlockFormat block_format(uint32_t type) {
  switch (type) {
    case ggml_id::F32: return {1, 4};
    case ggml_id::F16: return {1, 2};
    case ggml_id::BF16: return {1, 2};
    case ggml_id::Q4_0: return {32, 18};
    case ggml_id::Q8_0: return {32, 34};
    case ggml_id::Q4_K: return {256, 144};
    case ggml_id::Q6_K: return {256, 210};
  }
  throw Error("ggml type " + std::to_string(type) + " cannot be written", ErrorKind::InvalidArgument);
}

void put_half(uint8_t* dst, float v) {
  const c10::Half h(v);
  std::memcpy(dst, &h.x, 2);
}

float half_value(float v) { return static_cast<float>(c10::Half(v)); }

int nearest_int(float v) { return static_cast<int>(std::lround(v)); }

// Q8_0: d = max|x| / 127, q = round(x / d)
void q8_0_block(const float* x, uint8_t* out) {
  float amax = 0.0f;
  for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[i]));
  const float d = amax / 127.0f;
  put_half(out, d);
  const float id = d != 0.0f ? 1.0f / half_value(d) : 0.0f;
  for (int i = 0; i < 32; ++i) out[2 + i] = static_cast<uint8_t>(static_cast<int8_t>(std::clamp(nearest_int(x[i] * id), -127, 127)));
}

// Q4_0: the value of largest magnitude maps to -8, q = round(x / d) + 8 in 0..15
void q4_0_block(const float* x, uint8_t* out) {
  float amax = 0.0f, max = 0.0f;
  for (int i = 0; i < 32; ++i)
    if (std::fabs(x[i]) > amax) amax = std::fabs(x[i]), max = x[i];
  const float d = max / -8.0f;
  put_half(out, d);
  const float id = d != 0.0f ? 1.0f / half_value(d) : 0.0f;
  auto q = [&](float v) { return static_cast<uint8_t>(std::clamp(nearest_int(v * id) + 8, 0, 15)); };
  for (int j = 0; j < 16; ++j) out[2 + j] = static_cast<uint8_t>(q(x[j]) | (q(x[j + 16]) << 4));
}

// Q4_K: 8 sub-blocks of 32 values, each y = d*sc*q - dmin*m with 6-bit sc, m and 4-bit q
void q4_k_block(const float* x, uint8_t* out) {
  std::array<float, 8> scale{}, minv{};
  for (int j = 0; j < 8; ++j) {
    float lo = 0.0f, hi = 0.0f;  // the min is clamped to <= 0 so that m >= 0
    for (int i = 0; i < 32; ++i) lo = std::min(lo, x[32 * j + i]), hi = std::max(hi, x[32 * j + i]);
    scale[j] = (hi - lo) / 15.0f;
    minv[j] = -lo;
  }
  const float d = *std::max_element(scale.begin(), scale.end()) / 63.0f;
  const float dmin = *std::max_element(minv.begin(), minv.end()) / 63.0f;
  put_half(out, d);
  put_half(out + 2, dmin);
  const float dh = half_value(d), dminh = half_value(dmin);
  std::array<int, 8> sc{}, m{};
  for (int j = 0; j < 8; ++j) {
    sc[j] = dh != 0.0f ? std::clamp(nearest_int(scale[j] / dh), 0, 63) : 0;
    m[j] = dminh != 0.0f ? std::clamp(nearest_int(minv[j] / dminh), 0, 63) : 0;
  }
  uint8_t* s = out + 4;  // the inverse of get_scale_min_k4
  for (int j = 0; j < 4; ++j) {
    s[j] = static_cast<uint8_t>((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
    s[j + 4] = static_cast<uint8_t>((m[j] & 63) | ((m[j + 4] >> 4) << 6));
    s[j + 8] = static_cast<uint8_t>((sc[j + 4] & 15) | ((m[j + 4] & 15) << 4));
  }
  auto q = [&](int j, float v) {
    const float step = dh * static_cast<float>(sc[j]);
    return step != 0.0f ? std::clamp(nearest_int((v + dminh * static_cast<float>(m[j])) / step), 0, 15) : 0;
  };
  uint8_t* qs = out + 16;
  for (int c = 0; c < 4; ++c)  // chunk c: low nibbles sub-block 2c, high nibbles 2c + 1
    for (int l = 0; l < 32; ++l)
      qs[32 * c + l] = static_cast<uint8_t>(q(2 * c, x[64 * c + l]) | (q(2 * c + 1, x[64 * c + 32 + l]) << 4));
}

// Q6_K: 16 sub-blocks of 16 values, y = d*sc*(q - 32) with int8 sc and 6-bit q
void q6_k_block(const float* x, uint8_t* out) {
  std::array<float, 16> scale{};
  for (int j = 0; j < 16; ++j) {
    float amax = 0.0f;
    for (int i = 0; i < 16; ++i) amax = std::max(amax, std::fabs(x[16 * j + i]));
    scale[j] = amax / 31.0f;
  }
  const float d = *std::max_element(scale.begin(), scale.end()) / 127.0f;
  const float dh = half_value(d);
  std::array<int, 16> sc{};
  for (int j = 0; j < 16; ++j) sc[j] = dh != 0.0f ? std::clamp(nearest_int(scale[j] / dh), -128, 127) : 0;
  auto q = [&](int v) {  // value index 0..255 -> 0..63
    const float step = dh * static_cast<float>(sc[v / 16]);
    return step != 0.0f ? std::clamp(nearest_int(x[v] / step), -32, 31) + 32 : 32;
  };
  uint8_t* ql = out;
  uint8_t* qh = out + 128;
  int8_t* scales = reinterpret_cast<int8_t*>(out + 192);
  for (int j = 0; j < 16; ++j) scales[j] = static_cast<int8_t>(sc[j]);
  for (int half = 0; half < 2; ++half) {
    const int base = 128 * half;
    for (int l = 0; l < 32; ++l) {
      const int q1 = q(base + l), q2 = q(base + l + 32), q3 = q(base + l + 64), q4 = q(base + l + 96);
      ql[64 * half + l] = static_cast<uint8_t>((q1 & 15) | ((q3 & 15) << 4));
      ql[64 * half + l + 32] = static_cast<uint8_t>((q2 & 15) | ((q4 & 15) << 4));
      qh[32 * half + l] = static_cast<uint8_t>((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
    }
  }
  put_half(out + 208, d);
}

void put_u32(std::string& s, uint32_t v) { s.append(reinterpret_cast<const char*>(&v), 4); }
void put_u64(std::string& s, uint64_t v) { s.append(reinterpret_cast<const char*>(&v), 8); }
void put_str(std::string& s, const std::string& v) {
  put_u64(s, v.size());
  s += v;
}

void put_value(std::string& s, const GgufValue& v) {
  // GGUF value types: 4 u32, 5 i32, 6 f32, 7 bool, 8 string, 9 array
  if (auto* str = std::get_if<std::string>(&v)) {
    put_u32(s, 8);
    put_str(s, *str);
  } else if (auto* u = std::get_if<uint32_t>(&v)) {
    put_u32(s, 4);
    put_u32(s, *u);
  } else if (auto* i = std::get_if<int32_t>(&v)) {
    put_u32(s, 5);
    s.append(reinterpret_cast<const char*>(i), 4);
  } else if (auto* f = std::get_if<float>(&v)) {
    put_u32(s, 6);
    s.append(reinterpret_cast<const char*>(f), 4);
  } else if (auto* b = std::get_if<bool>(&v)) {
    put_u32(s, 7);
    s.push_back(*b ? 1 : 0);
  } else if (auto* a = std::get_if<std::vector<int32_t>>(&v)) {
    put_u32(s, 9);
    put_u32(s, 5);
    put_u64(s, a->size());
    s.append(reinterpret_cast<const char*>(a->data()), a->size() * 4);
  }
}

uint64_t padded(uint64_t n, uint64_t a) { return (n + a - 1) / a * a; }

}  // namespace

uint64_t gguf_row_bytes(uint32_t type, int64_t cols) {
  const auto f = block_format(type);
  if (cols <= 0 || cols % f.values != 0)
    throw Error("a row of " + std::to_string(cols) + " values is not a whole number of " +
                    std::to_string(f.values) + "-value blocks of ggml type " + std::to_string(type),
                ErrorKind::InvalidArgument);
  return static_cast<uint64_t>(cols / f.values * f.bytes);
}

std::vector<uint8_t> quantize_rows(uint32_t type, const float* x, int64_t rows, int64_t cols) {
  const uint64_t row_bytes = gguf_row_bytes(type, cols);
  const auto f = block_format(type);
  std::vector<uint8_t> out(row_bytes * static_cast<uint64_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * cols;
    uint8_t* dst = out.data() + static_cast<uint64_t>(r) * row_bytes;
    for (int64_t b = 0; b < cols / f.values; ++b) {
      const float* v = row + b * f.values;
      uint8_t* o = dst + b * f.bytes;
      switch (type) {
        case ggml_id::F32: std::memcpy(o, v, 4); break;
        case ggml_id::F16: put_half(o, *v); break;
        case ggml_id::BF16: {
          const c10::BFloat16 h(*v);
          std::memcpy(o, &h.x, 2);
          break;
        }
        case ggml_id::Q4_0: q4_0_block(v, o); break;
        case ggml_id::Q8_0: q8_0_block(v, o); break;
        case ggml_id::Q4_K: q4_k_block(v, o); break;
        case ggml_id::Q6_K: q6_k_block(v, o); break;
      }
    }
  }
  return out;
}

void write_gguf(const std::filesystem::path& path, const std::vector<GgufKv>& kvs,
                const std::vector<GgufTensorOut>& tensors, uint32_t alignment) {
  std::string head = "GGUF";
  put_u32(head, 3);
  put_u64(head, tensors.size());
  put_u64(head, kvs.size() + 1);
  put_str(head, "general.alignment");
  put_value(head, GgufValue(alignment));
  for (const auto& kv : kvs) {
    put_str(head, kv.key);
    put_value(head, kv.value);
  }
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    put_str(head, t.name);
    put_u32(head, static_cast<uint32_t>(t.shape.size()));
    for (auto it = t.shape.rbegin(); it != t.shape.rend(); ++it) put_u64(head, static_cast<uint64_t>(*it));
    put_u32(head, t.type);
    put_u64(head, offset);
    int64_t rows = 1;
    for (size_t i = 0; i + 1 < t.shape.size(); ++i) rows *= t.shape[i];
    const uint64_t want = t.shape.empty() ? gguf_row_bytes(t.type, 1)
                                          : gguf_row_bytes(t.type, t.shape.back()) * static_cast<uint64_t>(rows);
    if (t.bytes.size() != want)
      throw Error("GGUF tensor '" + t.name + "' has " + std::to_string(t.bytes.size()) + " bytes, its type and shape need " +
                      std::to_string(want),
                  ErrorKind::InvalidArgument, t.name);
    offset = padded(offset + t.bytes.size(), alignment);
  }
  head.resize(padded(head.size(), alignment), '\0');

  AtomicFile out(path);
  out.write(head);
  for (const auto& t : tensors) {
    out.write(t.bytes.data(), t.bytes.size());
    out.write(std::string(padded(t.bytes.size(), alignment) - t.bytes.size(), '\0'));
  }
  out.commit();
}

void write_safetensors_raw(const std::filesystem::path& path, const std::vector<RawTensorOut>& tensors,
                           const std::vector<std::pair<std::string, std::string>>& metadata) {
  // the header by hand: the JSON object keeps insertion order, data follows in the same order
  auto esc = [](const std::string& v) {
    std::string o;
    for (char c : v) {
      if (c == '"' || c == '\\') o += '\\';
      o += c;
    }
    return o;
  };
  std::string h = "{";
  if (!metadata.empty()) {
    h += "\"__metadata__\":{";
    for (size_t i = 0; i < metadata.size(); ++i)
      h += (i ? "," : "") + ("\"" + esc(metadata[i].first) + "\":\"" + esc(metadata[i].second) + "\"");
    h += "}";
  }
  uint64_t offset = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& t = tensors[i];
    std::string shape;
    for (size_t k = 0; k < t.shape.size(); ++k) shape += (k ? "," : "") + std::to_string(t.shape[k]);
    h += (i || !metadata.empty() ? "," : "") + ("\"" + esc(t.name) + "\":{\"dtype\":\"" + t.dtype + "\",\"shape\":[" +
                                                 shape + "],\"data_offsets\":[" + std::to_string(offset) + "," +
                                                 std::to_string(offset + t.bytes.size()) + "]}");
    offset += t.bytes.size();
  }
  h += "}";
  while (h.size() % 8) h.push_back(' ');
  AtomicFile out(path);
  const uint64_t len = h.size();  // little-endian on every platform we build for
  out.write(&len, 8);
  out.write(h);
  for (const auto& t : tensors) out.write(t.bytes.data(), t.bytes.size());
  out.commit();
}

uint8_t fp8_e4m3fn_from_float(float x) {
  if (std::isnan(x)) return 0x7F;
  const uint8_t sign = std::signbit(x) ? 0x80 : 0;
  const float a = std::fabs(x);
  // the 127 non-negative finite codes in increasing order: value(code)
  auto value = [](int code) {
    const int e = code >> 3, m = code & 7;
    return e == 0 ? std::ldexp(static_cast<float>(m) / 8.0f, -6) : std::ldexp(1.0f + static_cast<float>(m) / 8.0f, e - 7);
  };
  if (a >= 448.0f) return sign | 0x7E;
  int lo = 0, hi = 0x7E;  // value(lo) <= a < value(hi)
  while (hi - lo > 1) {
    const int mid = (lo + hi) / 2;
    (value(mid) <= a ? lo : hi) = mid;
  }
  const float dl = a - value(lo), dh = value(hi) - a;
  const int code = dl < dh ? lo : dh < dl ? hi : (lo % 2 == 0 ? lo : hi);
  return static_cast<uint8_t>(sign | code);
}

}  // namespace s2v::weights
