#include "models/wan/dit_s2v.h"

#include <torch/torch.h>

#include "models/base/error.h"
#include "models/wan/sinusoidal.h"
#include "models/weights/checkpoint.h"
#include "models/weights/validate.h"

namespace s2v::wan {

namespace {

// --offload_blocks: a block's parameters live in pinned host memory (pinned once, at the first
// streamed call) and are uploaded for one call only; afterwards each parameter points at its host
// copy again and the device copy goes back to the caching allocator. Nothing is copied back: the
// weights do not change. (The first version moved the whole block with Module::to both ways, from
// pageable memory: on the H200 a 14B CFG step took 47.3 s streamed against 8.4 s resident.)
class StreamedBlock {
 public:
  StreamedBlock(torch::nn::Module& block, torch::Device dev) {
    if (dev.is_cpu()) return;
    for (auto& p : block.parameters()) swap(p, dev);
    for (auto& b : block.buffers()) swap(b, dev);
  }
  ~StreamedBlock() {
    for (auto& [t, host] : swapped_) t.set_data(host);
  }
  StreamedBlock(const StreamedBlock&) = delete;
  StreamedBlock& operator=(const StreamedBlock&) = delete;

 private:
  void swap(torch::Tensor& t, torch::Device dev) {
    torch::Tensor host = t.data();
    if (!host.is_cpu()) return;  // already resident (not a streamed tensor)
    if (!host.is_pinned()) {
      host = host.pin_memory();
      t.set_data(host);
    }
    t.set_data(host.to(dev, /*non_blocking=*/true));
    swapped_.emplace_back(t, host);
  }

  std::vector<std::pair<torch::Tensor, torch::Tensor>> swapped_;  // (parameter, its host data)
};


[[noreturn]] void bad_input(const std::string& what) {
  throw Error("WanModel_S2V forward: " + what, ErrorKind::InvalidArgument);
}

std::string shape_of(const torch::Tensor& t) {
  if (!t.defined()) return "(none)";
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + "]";
}

// Segment-wise AdaLN, in place on a fresh float32 tensor: tokens [0, seg) use modulation row 0,
// tokens [seg, L) row 1 (as the `parts` loops of WanS2VAttentionBlock.forward).
// x: [B, L, C]; shift/scale: [B, 2, C]
void modulate_(torch::Tensor& x, const torch::Tensor& shift, const torch::Tensor& scale, int64_t seg) {
  const int64_t L = x.size(1);
  const int64_t bounds[3] = {0, seg, L};
  for (int64_t i = 0; i < 2; ++i) {
    const int64_t n = bounds[i + 1] - bounds[i];
    if (n <= 0) continue;
    x.narrow(1, bounds[i], n).mul_(1 + scale.narrow(1, i, 1)).add_(shift.narrow(1, i, 1));
  }
}

// y[:, segment i] *= gate row i; y: [B, L, C] float32, gate: [B, 2, C]
void gate_(torch::Tensor& y, const torch::Tensor& gate, int64_t seg) {
  const int64_t L = y.size(1);
  const int64_t bounds[3] = {0, seg, L};
  for (int64_t i = 0; i < 2; ++i) {
    const int64_t n = bounds[i + 1] - bounds[i];
    if (n > 0) y.narrow(1, bounds[i], n).mul_(gate.narrow(1, i, 1));
  }
}

torch::nn::Conv3d patch_conv(int64_t in, int64_t out, const std::array<int64_t, 3>& p) {
  return torch::nn::Conv3d(torch::nn::Conv3dOptions(in, out, {p[0], p[1], p[2]}).stride({p[0], p[1], p[2]}));
}

// [C, T, H, W] -> conv -> [1, C', T', H', W'] (input cast to the weight's device and dtype)
torch::Tensor embed(torch::nn::Conv3d& conv, const torch::Tensor& v) {
  return conv(v.unsqueeze(0).to(conv->weight.device(), conv->weight.scalar_type()));
}

// nn.Linear under autocast(float32): weights and input in float32
torch::Tensor linear_f32(const torch::nn::Linear& l, const torch::Tensor& x) {
  return torch::linear(x.to(torch::kFloat32), l->weight.to(torch::kFloat32), l->bias.to(torch::kFloat32));
}

}  // namespace

// ---------------------------------------------------------------------------------------------

IndexedLinearsImpl::IndexedLinearsImpl(const std::vector<Spec>& specs) {
  for (const auto& s : specs) layers.push_back(register_module(s.index, make_linear(s.in, s.out)));
}

torch::Tensor IndexedLinearsImpl::run(size_t i, const torch::Tensor& x) const {
  return linear_in_weight_dtype(layers.at(i), x);
}

WanLayerNormAffineImpl::WanLayerNormAffineImpl(int64_t dim, double eps_) : eps(eps_) {
  weight = register_parameter("weight", torch::ones({dim}));
  bias = register_parameter("bias", torch::zeros({dim}));
}

torch::Tensor WanLayerNormAffineImpl::forward(const torch::Tensor& x) { return wan_layer_norm(x, eps, weight, bias); }

HeadS2VImpl::HeadS2VImpl(int64_t dim, int64_t out_features, double eps_) : eps(eps_) {
  modulation = register_parameter("modulation", torch::randn({1, 2, dim}) / std::sqrt(double(dim)));
  head = register_module("head", torch::nn::Linear(dim, out_features));
}

torch::Tensor HeadS2VImpl::forward(const torch::Tensor& x, const torch::Tensor& e) {
  // x: [B, L, C], e: [B, C] float32; in float32 as the reference's autocast region
  auto m = modulation.to(torch::kFloat32) + e.unsqueeze(1);  // [B, 2, C]
  auto shift = m.narrow(1, 0, 1), scale = m.narrow(1, 1, 1);
  auto y = wan_layer_norm(x, eps) * (1 + scale) + shift;
  return linear_f32(head, y);
}

// ---------------------------------------------------------------------------------------------

WanS2VAttentionBlockImpl::WanS2VAttentionBlockImpl(const DiTConfig& c) : eps(c.eps) {
  const int64_t d = c.dim;
  modulation = register_parameter("modulation", torch::randn({1, 6, d}) / std::sqrt(double(d)));
  self_attn = register_module("self_attn", WanAttention(d, c.num_heads, c.qk_norm, c.eps));
  if (c.cross_attn_norm) norm3 = register_module("norm3", WanLayerNormAffine(d, c.eps));
  cross_attn = register_module("cross_attn", WanAttention(d, c.num_heads, c.qk_norm, c.eps));
  ffn = register_module("ffn", IndexedLinears(std::vector<IndexedLinearsImpl::Spec>{{"0", d, c.ffn_dim}, {"2", c.ffn_dim, d}}));
}

torch::Tensor WanS2VAttentionBlockImpl::forward(torch::Tensor x, const torch::Tensor& e0, int64_t seg,
                                                const RopeTable& rope, const torch::Tensor& context,
                                                const DiTOptions& options) {
  // x: [B, L, C] float32; e0: [B, 6, 2, C]
  seg = std::min<int64_t>(std::max<int64_t>(0, seg), x.size(1));
  auto e = (modulation.to(torch::kFloat32).unsqueeze(2) + e0).unbind(1);  // 6 x [B, 2, C]

  // self-attention
  auto norm_x = wan_layer_norm(x, eps).to(torch::kFloat32);
  modulate_(norm_x, e[0], e[1], seg);
  auto y = self_attn->self_attention(norm_x, rope, options.attention).to(torch::kFloat32);
  gate_(y, e[2], seg);
  x = x + y;

  // cross-attention & ffn
  auto q_in = norm3 ? norm3(x) : x;
  x = x + cross_attn->cross_attention(q_in, context, options.attention).to(torch::kFloat32);
  auto norm2_x = wan_layer_norm(x, eps).to(torch::kFloat32);
  modulate_(norm2_x, e[3], e[4], seg);
  auto h = torch::gelu(ffn->run(0, norm2_x), "tanh");
  y = ffn->run(1, h).to(torch::kFloat32);
  gate_(y, e[5], seg);
  return x + y;
}

// ---------------------------------------------------------------------------------------------

WanModelS2VImpl::WanModelS2VImpl(const DiTConfig& c, torch::ScalarType param_dtype,
                                 const std::function<bool(const std::string&)>& packed)
    : config_(c) {
  c.validate();
  const int64_t d = c.dim;
  using Spec = IndexedLinearsImpl::Spec;
  patch_embedding = register_module("patch_embedding", patch_conv(c.in_dim, d, c.patch_size));
  text_embedding = register_module("text_embedding", IndexedLinears(std::vector<Spec>{{"0", c.text_dim, d}, {"2", d, d}}));
  time_embedding = register_module("time_embedding", IndexedLinears(std::vector<Spec>{{"0", c.freq_dim, d}, {"2", d, d}}));
  time_projection = register_module("time_projection", IndexedLinears(std::vector<Spec>{{"1", d, 6 * d}}));
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_layers; ++i) {
    WanS2VAttentionBlock block(c);
    release_packed(*block, "blocks." + std::to_string(i) + ".", packed);
    if (param_dtype != torch::kFloat32) block->to(param_dtype);
    blocks->push_back(block);
  }
  head = register_module(
      "head", HeadS2V(d, c.patch_size[0] * c.patch_size[1] * c.patch_size[2] * c.out_dim, c.eps));
  if (c.cond_dim > 0) cond_encoder = register_module("cond_encoder", patch_conv(c.cond_dim, d, c.patch_size));
  casual_audio_encoder = register_module(
      "casual_audio_encoder",
      CausalAudioEncoder(c.audio_dim, c.audio_num_layers, d, c.num_audio_token, c.enable_adain));
  audio_injector = register_module(
      "audio_injector", AudioInjector(d, c.num_heads, c.num_layers, c.audio_inject_layers,
                                      c.enable_adain, c.adain_mode == "attn_norm"));
  release_packed(*audio_injector, "audio_injector.", packed);
  trainable_cond_mask = register_module("trainable_cond_mask", torch::nn::Embedding(3, d));
  if (c.enable_framepack)
    frame_packer = register_module(
        "frame_packer", FramePackMotioner(d, c.num_heads, c.zip_frame_buckets, c.framepack_drop_mode));
  freqs = rope_freqs(c.head_dim());
  if (param_dtype != torch::kFloat32) to(param_dtype);
}

torch::Tensor WanModelS2VImpl::unpatchify(const torch::Tensor& x, std::array<int64_t, 3> g) const {
  // x: [L, p0*p1*p2*C_out] -> [C_out, F*p0, H*p1, W*p2] ('fhwpqrc->cfphqwr')
  const auto& p = config_.patch_size;
  const int64_t c = config_.out_dim;
  auto u = x.narrow(0, 0, g[0] * g[1] * g[2]).reshape({g[0], g[1], g[2], p[0], p[1], p[2], c});
  return u.permute({6, 0, 3, 1, 4, 2, 5}).reshape({c, g[0] * p[0], g[1] * p[1], g[2] * p[2]});
}

std::pair<torch::Tensor, torch::Tensor> WanModelS2VImpl::motion_tokens(const DiTInputs& in,
                                                                      int64_t add_last_motion,
                                                                      DiTTrace* trace) {
  const auto dev = patch_embedding->weight.device();
  const int64_t d = config_.dim, c = config_.head_dim() / 2;
  auto none = std::make_pair(torch::zeros({1, 0, d}, torch::TensorOptions().device(dev)),
                             torch::zeros({0, c}, freqs.options()));
  const auto& m = in.motion_latents;
  if (!m.defined()) {
    if (!in.drop_motion_frames) bad_input("motion_latents are missing (set drop_motion_frames to skip them)");
    return none;
  }
  if (m.dim() != 4 || m.size(0) != 16) bad_input("motion_latents must be [16, T_m, H, W], got " + shape_of(m));
  if (config_.enable_framepack) {
    // as process_motion_frame_pack
    auto out = frame_packer->forward(m.to(dev, torch::kFloat32), add_last_motion);
    if (trace) {
      trace->frame_packer_tokens = out.tokens;
      trace->frame_packer_rope = out.rope;
    }
    if (in.drop_motion_frames) return none;
    return {out.tokens, out.rope};
  }
  // as process_motion: the motion latents are patch-embedded like the noisy ones, at frames -T_m..-1
  if (in.drop_motion_frames || m.size(1) == 0) return none;
  auto mot = embed(patch_embedding, m);
  const int64_t tm = m.size(1), h = mot.size(3), w = mot.size(4);
  auto rope = rope_precompute({RopeGrid{{-tm, 0, 0}, {0, h, w}, {tm, h, w}}}, freqs);
  return {mot.flatten(2).transpose(1, 2), rope};
}

torch::Tensor WanModelS2VImpl::forward(const DiTInputs& in, DiTTrace* trace) {
  torch::NoGradGuard no_grad;
  const auto& c = config_;
  const auto dev = patch_embedding->weight.device();
  const auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(dev);

  // --- checks (one sample) ---
  if (!in.x.defined() || in.x.dim() != 4 || in.x.size(0) != c.in_dim)
    bad_input("x must be [" + std::to_string(c.in_dim) + ", T, H, W], got " + shape_of(in.x));
  if (in.x.size(2) % c.patch_size[1] || in.x.size(3) % c.patch_size[2] || in.x.size(1) % c.patch_size[0])
    bad_input("the latent size " + shape_of(in.x) + " is not a multiple of the patch size");
  if (!in.t.defined() || in.t.numel() != 1) bad_input("t must hold one timestep, got " + shape_of(in.t));
  if (!in.ref_latents.defined() || in.ref_latents.dim() != 4 || in.ref_latents.size(1) != 1 ||
      in.ref_latents.size(0) != c.in_dim)
    bad_input("ref_latents must be [" + std::to_string(c.in_dim) + ", 1, H, W], got " + shape_of(in.ref_latents));
  if (!in.context.defined() || in.context.dim() != 2 || in.context.size(1) != c.text_dim ||
      in.context.size(0) > c.text_len)
    bad_input("context must be [L <= " + std::to_string(c.text_len) + ", " + std::to_string(c.text_dim) +
              "], got " + shape_of(in.context));
  if (!in.audio_input.defined() || in.audio_input.dim() != 4 || in.audio_input.size(0) != 1 ||
      in.audio_input.size(1) != c.audio_num_layers || in.audio_input.size(2) != c.audio_dim)
    bad_input("audio_input must be [1, " + std::to_string(c.audio_num_layers) + ", " +
              std::to_string(c.audio_dim) + ", frames], got " + shape_of(in.audio_input));
  if (in.cond_states.defined() && cond_encoder &&
      (in.cond_states.dim() != 4 || in.cond_states.size(0) != c.cond_dim ||
       in.cond_states.sizes().slice(1) != in.x.sizes().slice(1)))
    bad_input("cond_states must be [" + std::to_string(c.cond_dim) + ", T, H, W] like x, got " +
              shape_of(in.cond_states));
  const int64_t add_last_motion = (c.add_last_motion ? 1 : 0) * in.add_last_motion;

  // --- audio: 73 copies of the first frame stand for the motion frames, then the encoder ---
  auto audio = in.audio_input.to(f32);
  audio = torch::cat({audio.narrow(3, 0, 1).expand({-1, -1, -1, in.motion_frames[0]}), audio}, 3);
  auto enc = casual_audio_encoder->forward(audio);
  if (trace) {
    trace->audio_input = audio;
    trace->audio_global = enc.global;
    trace->audio_local = enc.local;
  }
  const int64_t skip = in.motion_frames[1], t_audio = enc.local.size(1);
  if (skip < 0 || skip >= t_audio) bad_input("motion_frames[1] leaves no audio frames");
  auto audio_local = enc.local.narrow(1, skip, t_audio - skip);
  auto audio_global = enc.global.defined() ? enc.global.narrow(1, skip, t_audio - skip) : enc.global;

  // --- noisy tokens (+ pose), reference tokens, motion tokens ---
  auto xe = embed(patch_embedding, in.x);  // [1, C, F, H, W]
  if (cond_encoder && in.cond_states.defined()) xe = xe + embed(cond_encoder, in.cond_states);
  const std::array<int64_t, 3> grid{xe.size(2), xe.size(3), xe.size(4)};
  auto noisy = xe.flatten(2).transpose(1, 2);  // [1, L, C]
  const int64_t L = noisy.size(1);
  if (audio_local.size(1) != grid[0])
    bad_input(std::to_string(grid[0]) + " latent frames but " + std::to_string(audio_local.size(1)) +
              " audio frames after the motion frames");
  auto ref_e = embed(patch_embedding, in.ref_latents);
  const int64_t rh = ref_e.size(3), rw = ref_e.size(4);
  auto ref = ref_e.flatten(2).transpose(1, 2);  // [1, Lr, C]
  const int64_t Lr = ref.size(1);

  // as rope_precompute over [noisy, ref]: the reference sits at frame 30
  auto factors = rope_precompute({RopeGrid{{0, 0, 0}, grid, grid},
                                  RopeGrid{{30, 0, 0}, {31, rh, rw}, {1, rh, rw}}},
                                 freqs);
  auto [mot, mot_rope] = motion_tokens(in, add_last_motion, trace);
  const int64_t Lm = mot.size(1);
  auto x = torch::cat({noisy.to(f32), ref.to(f32), mot.to(f32)}, 1);  // [1, S, C]
  factors = torch::cat({factors, mot_rope.to(factors.device())}, 0);
  if (trace) trace->rope = factors;
  const auto rope = rope_table(factors, options.rope_dtype, dev);

  // trainable_cond_mask: 0 noisy, 1 reference, 2 motion; as `x + mask.to(x.dtype)`, where x is
  // in the embeddings' dtype (bf16 under the official autocast with bf16 weights)
  {
    const auto& w = trainable_cond_mask->weight;
    const int64_t bounds[4] = {0, L, L + Lr, L + Lr + Lm};
    for (int64_t i = 0; i < 3; ++i) {
      if (bounds[i + 1] <= bounds[i]) continue;
      auto seg = x.narrow(1, bounds[i], bounds[i + 1] - bounds[i]);
      if (w.scalar_type() == torch::kFloat32) seg.add_(w[i]);
      else seg.copy_(seg.to(w.scalar_type()) + w[i]);
    }
  }

  // --- time embeddings (float32); with zero_timestep the tokens after the noisy ones use t = 0 ---
  auto t = in.t.reshape({-1}).to(dev);
  if (c.zero_timestep) t = torch::cat({t, torch::zeros({1}, t.options())});
  auto sinusoid = sinusoidal_embedding_1d(c.freq_dim, t);
  if (trace) {
    trace->timesteps = t;
    trace->sinusoid = sinusoid;
  }
  auto e = linear_f32(time_embedding->layers[1], torch::silu(linear_f32(time_embedding->layers[0], sinusoid)));
  auto e0 = linear_f32(time_projection->layers[0], torch::silu(e)).unflatten(1, {6, c.dim});  // [n, 6, C]
  int64_t seg = 0;
  if (c.zero_timestep) {
    auto zero_e0 = e0.narrow(0, 1, 1);
    e = e.narrow(0, 0, 1);
    e0 = torch::cat({e0.narrow(0, 0, 1).unsqueeze(2), zero_e0.unsqueeze(2)}, 2);  // [1, 6, 2, C]
    seg = L;
  } else {
    e0 = e0.unsqueeze(2).repeat({1, 1, 2, 1});
  }

  // --- text context, zero-padded to text_len as the reference does ---
  auto ctx = torch::zeros({1, c.text_len, c.text_dim}, f32);
  ctx.narrow(1, 0, in.context.size(0)).copy_(in.context.to(f32).unsqueeze(0));
  auto context = text_embedding->run(1, torch::gelu(text_embedding->run(0, ctx), "tanh"));

  // --- blocks, audio injection ---
  for (int64_t i = 0; i < c.num_layers; ++i) {
    auto* block = blocks[i]->as<WanS2VAttentionBlockImpl>();
    {
      PackedWeights::Scope weights;  // a packed block's weights, dequantised for this call only
      if (packed) weights = packed->materialize("blocks." + std::to_string(i) + ".");
      StreamedBlock streamed(*block, options.stream_blocks ? dev : torch::Device(torch::kCPU));
      x = block->forward(x, e0, seg, rope, context, options);
    }
    const int64_t id = audio_injector->injector_after(i);
    if (id >= 0) {
      std::vector<PackedWeights::Scope> weights;
      if (packed)
        for (const char* part : {"injector.", "injector_adain_layers.", "injector_adain_output_layers."})
          weights.push_back(packed->materialize("audio_injector." + std::string(part) + std::to_string(id) + "."));
      x = audio_injector->forward(id, x, L, audio_local, audio_global, options.attention);
    }
  }

  // --- head on the noisy tokens, unpatchify ---
  auto out = head->forward(x.narrow(1, 0, L), e);  // [1, L, prod(p) * C_out]
  return unpatchify(out[0], grid).to(torch::kFloat32);
}

void load_dit_weights(WanModelS2VImpl& model, const weights::TensorSource& source, torch::Device packed_device,
                      bool stream_packed, const CancelToken& cancel) {
  torch::NoGradGuard no_grad;
  weights::ExpectedTensors expected;
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& [name, shape] : expected_parameters(model.config())) {
    expected[name] = {shape, weights::DtypeClass::Floating};
    shapes[name] = shape;
  }
  weights::require_valid(expected, source, "the S2V DiT");
  const auto packed = keep_packed(source);
  for (auto& p : model.named_parameters(/*recurse=*/true)) {
    if (packed && packed(p.key())) continue;
    cancel.throw_if_requested();
    auto& param = p.value();
    param.copy_(weights::load_as(source, p.key(), param.scalar_type(), param.device()).reshape(param.sizes()));
  }
  if (packed) model.packed = std::make_shared<PackedWeights>(model, source, shapes, packed_device, stream_packed);
}

}  // namespace s2v::wan
