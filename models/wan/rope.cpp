#include "models/wan/rope.h"

#include <cmath>

#include <torch/torch.h>

#include "models/base/error.h"

namespace s2v::wan {

torch::Tensor rope_params(int64_t max_seq_len, int64_t dim, double theta) {
  if (dim % 2 != 0)
    throw Error("rope_params: the dimension " + std::to_string(dim) + " is odd",
                ErrorKind::InvalidArgument);
  auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  auto inv = 1.0 / torch::pow(theta, torch::arange(0, dim, 2, f64).div(static_cast<double>(dim)));
  auto angles = torch::outer(torch::arange(max_seq_len, f64), inv);  // [max_seq_len, dim/2]
  return torch::polar(torch::ones_like(angles), angles);
}

torch::Tensor rope_freqs(int64_t head_dim, int64_t max_seq_len) {
  const int64_t d = head_dim;
  return torch::cat({rope_params(max_seq_len, d - 4 * (d / 6)), rope_params(max_seq_len, 2 * (d / 6)),
                     rope_params(max_seq_len, 2 * (d / 6))},
                    1);
}

std::vector<int64_t> linspace_int(int64_t start, int64_t stop, int64_t num) {
  // Follows numpy's arithmetic (step = delta / (num - 1), y = i * step + start, last = stop) so the
  // truncation to int matches it bit for bit.
  std::vector<int64_t> out;
  if (num <= 0) return out;
  const double delta = static_cast<double>(stop - start);
  const int64_t div = num - 1;
  out.reserve(static_cast<size_t>(num));
  for (int64_t i = 0; i < num; ++i) {
    double y;
    if (div > 0) {
      const double step = delta / static_cast<double>(div);
      y = step == 0 ? (static_cast<double>(i) / static_cast<double>(div)) * delta
                    : static_cast<double>(i) * step;
    } else {
      y = static_cast<double>(i) * delta;
    }
    y += static_cast<double>(start);
    if (num > 1 && i == num - 1) y = static_cast<double>(stop);
    out.push_back(static_cast<int64_t>(std::trunc(y)));
  }
  return out;
}

torch::Tensor rope_precompute(const std::vector<RopeGrid>& grids, const torch::Tensor& freqs) {
  // freqs: [M, c] complex128, c = head_dim / 2
  const int64_t c = freqs.size(1);
  const int64_t c_f = c - 2 * (c / 3), c_h = c / 3, c_w = c / 3;
  auto parts = freqs.split_with_sizes({c_f, c_h, c_w}, 1);
  auto index = [](const std::vector<int64_t>& v) {
    return torch::tensor(v, torch::TensorOptions().dtype(torch::kLong));
  };
  std::vector<torch::Tensor> out;
  for (const auto& g : grids) {
    const int64_t f_o = g.start[0], h_o = g.start[1], w_o = g.start[2];
    const int64_t f = g.end[0], h = g.end[1], w = g.end[2];
    const int64_t t_f = g.range[0], t_h = g.range[1], t_w = g.range[2];
    const int64_t seq_f = f - f_o, seq_h = h - h_o, seq_w = w - w_o;
    const int64_t seq_len = seq_f * seq_h * seq_w;
    if (seq_len <= 0) continue;
    if (t_f <= 0)
      throw Error("rope_precompute: a grid with a non-positive frame range (trainable token "
                  "positions) is not supported",
                  ErrorKind::Unsupported);
    if (f_o * f < 0 || h_o * h < 0 || w_o * w < 0)
      throw Error("rope_precompute: a grid crosses position 0", ErrorKind::InvalidArgument);
    const auto f_sam = f_o >= 0 ? linspace_int(f_o, t_f + f_o - 1, seq_f)
                                : linspace_int(-f_o, -t_f - f_o + 1, seq_f);
    const auto h_sam = linspace_int(h_o, t_h + h_o - 1, seq_h);
    const auto w_sam = linspace_int(w_o, t_w + w_o - 1, seq_w);
    for (const auto* s : {&f_sam, &h_sam, &w_sam})
      for (auto i : *s)
        if (i < 0 || i >= freqs.size(0))
          throw Error("rope_precompute: position " + std::to_string(i) +
                          " is outside the RoPE table of " + std::to_string(freqs.size(0)),
                      ErrorKind::InvalidArgument);
    auto ff = parts[0].index_select(0, index(f_sam));
    if (f_o < 0) ff = ff.conj().resolve_conj();
    auto fi = torch::cat({ff.view({seq_f, 1, 1, c_f}).expand({seq_f, seq_h, seq_w, c_f}),
                          parts[1].index_select(0, index(h_sam)).view({1, seq_h, 1, c_h})
                              .expand({seq_f, seq_h, seq_w, c_h}),
                          parts[2].index_select(0, index(w_sam)).view({1, 1, seq_w, c_w})
                              .expand({seq_f, seq_h, seq_w, c_w})},
                         -1);
    out.push_back(fi.reshape({seq_len, c}));
  }
  if (out.empty()) return torch::empty({0, c}, freqs.options());
  return torch::cat(out, 0);
}

RopeTable rope_table(const torch::Tensor& factors, torch::ScalarType dtype, torch::Device device) {
  // factors: [S, c] complex128
  auto real = torch::view_as_real(factors.contiguous());  // [S, c, 2]
  RopeTable t;
  t.cos = real.select(-1, 0).unsqueeze(0).unsqueeze(2).to(device, dtype).contiguous();
  t.sin = real.select(-1, 1).unsqueeze(0).unsqueeze(2).to(device, dtype).contiguous();
  return t;
}

torch::Tensor rope_apply(const torch::Tensor& x, const RopeTable& table) {
  // x: [B, S, N, D]; table: [1, s, 1, D/2] with s <= S
  const int64_t B = x.size(0), S = x.size(1), N = x.size(2), D = x.size(3);
  const int64_t s = std::min<int64_t>(table.length(), S);
  auto head = x.narrow(1, 0, s).to(table.cos.scalar_type()).reshape({B, s, N, D / 2, 2});
  auto re = head.select(-1, 0), im = head.select(-1, 1);
  auto cos = table.cos.narrow(1, 0, s), sin = table.sin.narrow(1, 0, s);
  // (re + i im)(cos + i sin), as complex multiplication
  auto out = torch::stack({re * cos - im * sin, re * sin + im * cos}, -1).reshape({B, s, N, D});
  out = out.to(torch::kFloat32);
  if (s == S) return out;
  return torch::cat({out, x.narrow(1, s, S - s).to(torch::kFloat32)}, 1);
}

}  // namespace s2v::wan
