#include "core/media/resize.h"

#include <algorithm>
#include <cmath>

#include "models/base/error.h"

namespace s2v::media {

namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;  // Pillow's 8-bit fixed point

struct Taps {
  std::vector<int> first;   // first input index per output index
  std::vector<int> count;   // number of taps
  std::vector<int> coeffs;  // out_size x ksize fixed-point weights
  int ksize = 0;
};

double triangle(double x) {
  x = std::abs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

// Filter taps for in_size -> out_size, as Pillow's precompute_coeffs + normalize_coeffs_8bpc.
Taps make_taps(int in_size, int out_size) {
  Taps t;
  const double scale = double(in_size) / out_size;
  const double filterscale = std::max(scale, 1.0);
  const double support = 1.0 * filterscale;
  t.ksize = int(std::ceil(support)) * 2 + 1;
  t.first.resize(size_t(out_size));
  t.count.resize(size_t(out_size));
  t.coeffs.assign(size_t(out_size) * t.ksize, 0);
  std::vector<double> k(size_t(t.ksize));
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = (xx + 0.5) * scale;
    const double inv = 1.0 / filterscale;
    int xmin = int(center - support + 0.5);  // truncation toward zero, as a C cast
    if (xmin < 0) xmin = 0;
    int xmax = int(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    const int n = xmax - xmin;
    double ww = 0.0;
    for (int x = 0; x < n; ++x) {
      const double w = triangle((x + xmin - center + 0.5) * inv);
      k[size_t(x)] = w;
      ww += w;
    }
    for (int x = 0; x < n; ++x) {
      const double w = ww != 0.0 ? k[size_t(x)] / ww : k[size_t(x)];
      const double scaled = w * double(1 << kPrecisionBits);
      t.coeffs[size_t(xx) * t.ksize + x] = int(w < 0 ? -0.5 + scaled : 0.5 + scaled);
    }
    t.first[size_t(xx)] = xmin;
    t.count[size_t(xx)] = n;
  }
  return t;
}

uint8_t clip8(int64_t v) {
  if (v >= (int64_t(1) << kPrecisionBits << 8)) return 255;
  if (v <= 0) return 0;
  return uint8_t(v >> kPrecisionBits);
}

RgbFrame resample_horizontal(const RgbFrame& in, int out_w) {
  const Taps t = make_taps(in.width, out_w);
  RgbFrame out;
  out.width = out_w;
  out.height = in.height;
  out.rgb.resize(size_t(out_w) * in.height * 3);
  for (int y = 0; y < in.height; ++y) {
    const uint8_t* row = &in.rgb[size_t(y) * in.width * 3];
    uint8_t* dst = &out.rgb[size_t(y) * out_w * 3];
    for (int xx = 0; xx < out_w; ++xx) {
      const int* k = &t.coeffs[size_t(xx) * t.ksize];
      const int x0 = t.first[size_t(xx)];
      for (int c = 0; c < 3; ++c) {
        int64_t ss = int64_t(1) << (kPrecisionBits - 1);
        for (int x = 0; x < t.count[size_t(xx)]; ++x) ss += int64_t(row[(x0 + x) * 3 + c]) * k[x];
        dst[xx * 3 + c] = clip8(ss);
      }
    }
  }
  return out;
}

RgbFrame resample_vertical(const RgbFrame& in, int out_h) {
  const Taps t = make_taps(in.height, out_h);
  RgbFrame out;
  out.width = in.width;
  out.height = out_h;
  out.rgb.resize(size_t(in.width) * out_h * 3);
  const size_t stride = size_t(in.width) * 3;
  for (int yy = 0; yy < out_h; ++yy) {
    const int* k = &t.coeffs[size_t(yy) * t.ksize];
    const int y0 = t.first[size_t(yy)];
    uint8_t* dst = &out.rgb[size_t(yy) * stride];
    for (size_t i = 0; i < stride; ++i) {
      int64_t ss = int64_t(1) << (kPrecisionBits - 1);
      for (int y = 0; y < t.count[size_t(yy)]; ++y) ss += int64_t(in.rgb[size_t(y0 + y) * stride + i]) * k[y];
      dst[i] = clip8(ss);
    }
  }
  return out;
}

// Python's round() for x.5 cases: half to even.
int round_half_even(double v) { return int(std::nearbyint(v)); }

}  // namespace

RgbFrame resize_bilinear(const RgbFrame& in, int out_w, int out_h) {
  if (out_w <= 0 || out_h <= 0 || in.width <= 0 || in.height <= 0)
    throw Error("cannot resize a " + std::to_string(in.width) + "x" + std::to_string(in.height) +
                    " picture to " + std::to_string(out_w) + "x" + std::to_string(out_h),
                ErrorKind::InvalidArgument);
  RgbFrame out = in;
  if (out_w != in.width) out = resample_horizontal(out, out_w);  // Pillow: horizontal first
  if (out_h != in.height) out = resample_vertical(out, out_h);
  out.index = in.index;
  out.pts = in.pts;
  out.time_s = in.time_s;
  return out;
}

void shorter_side_size(int in_w, int in_h, int size, int* out_w, int* out_h) {
  // as torchvision's _compute_resized_output_size for an int size
  if (in_w <= in_h) {
    *out_w = size;
    *out_h = int(double(size) * in_h / in_w);
  } else {
    *out_h = size;
    *out_w = int(double(size) * in_w / in_h);
  }
}

RgbFrame center_crop(const RgbFrame& in, int out_w, int out_h) {
  if (out_w <= 0 || out_h <= 0)
    throw Error("cannot crop to " + std::to_string(out_w) + "x" + std::to_string(out_h),
                ErrorKind::InvalidArgument);
  RgbFrame src = in;
  if (out_w > in.width || out_h > in.height) {
    // as torchvision's center_crop: pad (left, top) = ((cw - w) // 2, (ch - h) // 2), the rest right/bottom
    const int pl = out_w > in.width ? (out_w - in.width) / 2 : 0;
    const int pt = out_h > in.height ? (out_h - in.height) / 2 : 0;
    const int pr = out_w > in.width ? (out_w - in.width + 1) / 2 : 0;
    const int pb = out_h > in.height ? (out_h - in.height + 1) / 2 : 0;
    src.width = in.width + pl + pr;
    src.height = in.height + pt + pb;
    src.rgb.assign(size_t(src.width) * src.height * 3, 0);
    for (int y = 0; y < in.height; ++y)
      std::copy_n(&in.rgb[size_t(y) * in.width * 3], size_t(in.width) * 3,
                  &src.rgb[(size_t(y + pt) * src.width + pl) * 3]);
  }
  const int top = round_half_even((src.height - out_h) / 2.0);
  const int left = round_half_even((src.width - out_w) / 2.0);
  RgbFrame out;
  out.width = out_w;
  out.height = out_h;
  out.index = in.index;
  out.pts = in.pts;
  out.time_s = in.time_s;
  out.rgb.resize(size_t(out_w) * out_h * 3);
  for (int y = 0; y < out_h; ++y)
    std::copy_n(&src.rgb[(size_t(y + top) * src.width + left) * 3], size_t(out_w) * 3,
                &out.rgb[size_t(y) * out_w * 3]);
  return out;
}

RgbFrame resize_shorter_and_crop(const RgbFrame& in, int width, int height) {
  // as resize_opreat / crop_opreat in speech2video.py generate()
  int rw = 0, rh = 0;
  shorter_side_size(in.width, in.height, std::min(width, height), &rw, &rh);
  return center_crop(resize_bilinear(in, rw, rh), width, height);
}

}  // namespace s2v::media
