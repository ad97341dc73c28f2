#pragma once
// WanModel_S2V, the Wan2.2-S2V diffusion transformer (wan/modules/s2v/model_s2v.py), in LibTorch.
// Modules and parameters are registered under the official state_dict names, so
// named_parameters() yields exactly the checkpoint keys (see expected_parameters()).
//
// One forward pass, batch 1 (the official pipeline also runs one sample per call):
//   noisy latent tokens (patch_embedding + cond_encoder(pose)) | reference latent tokens (RoPE
//   frame 30) | FramePack motion tokens (negative frames), plus trainable_cond_mask 0/1/2;
//   40 blocks with segment-wise AdaLN (ref/motion tokens modulated by t = 0 when zero_timestep),
//   audio cross-attention after the configured blocks; head and unpatchify on the noisy tokens.

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "models/base/cancel.h"
#include "models/wan/attention.h"
#include "models/wan/audio_encoder.h"
#include "models/wan/audio_injector.h"
#include "models/wan/dit_config.h"
#include "models/wan/frame_pack.h"
#include "models/wan/packed_weights.h"
#include "models/wan/rope.h"

namespace s2v::wan {

// Run-time choices that do not change the function (only speed and rounding).
struct DiTOptions {
  AttentionOptions attention;
  // dtype of the RoPE rotation; float64 is what the reference does.
  torch::ScalarType rope_dtype = torch::kFloat64;
  // Block-by-block offload for devices with less memory than the weights: the 40 attention blocks
  // stay in host memory and each is moved to the device of patch_embedding for its forward only.
  bool stream_blocks = false;
};

// Inputs of one forward pass, named and shaped as WanModel_S2V.forward's arguments (one sample).
struct DiTInputs {
  torch::Tensor x;               // noisy latents [C_in, T, H, W]
  torch::Tensor t;               // timestep [1] (the scheduler's integer timestep, any dtype)
  torch::Tensor context;         // text embedding [L <= text_len, text_dim] (unpadded)
  int64_t seq_len = 0;           // unused by WanModel_S2V; kept to mirror the official signature
  torch::Tensor ref_latents;     // reference image latent [C_in, 1, H, W]
  torch::Tensor motion_latents;  // previous clip latents [C_in, T_m, H, W]
  torch::Tensor cond_states;     // pose latents [cond_dim, T, H, W] (undefined: no pose term)
  torch::Tensor audio_input;     // wav2vec2 features [1, layers, audio_dim, frames]
  std::array<int64_t, 2> motion_frames{73, 19};  // motion video frames, motion latent frames
  int64_t add_last_motion = 2;
  bool drop_motion_frames = false;
};

// Intermediate results, filled when a trace is passed (parity tests, debugging).
struct DiTTrace {
  torch::Tensor audio_input;         // [1, layers, audio_dim, motion_frames[0] + frames]
  torch::Tensor audio_global;        // casual_audio_encoder global output [1, T', 1, dim]
  torch::Tensor audio_local;         // casual_audio_encoder local output [1, T', n+1, dim]
  torch::Tensor frame_packer_tokens; // [1, Lm, dim] before drop_motion_frames
  torch::Tensor frame_packer_rope;   // [Lm, head_dim/2] complex128 before drop_motion_frames
  torch::Tensor rope;                // [S, head_dim/2] complex128, every token of the sequence
  torch::Tensor timesteps;           // [t, 0] with zero_timestep, else [t]
  torch::Tensor sinusoid;            // sinusoidal_embedding_1d of timesteps, float64
};

// Linear layers registered under the indices they have in the reference's nn.Sequential
// (text_embedding.0/.2, time_embedding.0/.2, time_projection.1, ffn.0/.2); activations have no
// parameters and are applied by the caller.
class IndexedLinearsImpl : public torch::nn::Module {
 public:
  struct Spec { const char* index; int64_t in, out; };
  explicit IndexedLinearsImpl(const std::vector<Spec>& specs);
  torch::Tensor run(size_t i, const torch::Tensor& x) const;  // layer i in registration order
  std::vector<torch::nn::Linear> layers;
};
TORCH_MODULE(IndexedLinears);

// WanLayerNorm with elementwise affine parameters (norm3).
class WanLayerNormAffineImpl : public torch::nn::Module {
 public:
  WanLayerNormAffineImpl(int64_t dim, double eps);
  torch::Tensor forward(const torch::Tensor& x);
  double eps;
  torch::Tensor weight, bias;
};
TORCH_MODULE(WanLayerNormAffine);

// as Head_S2V: head(norm(x) * (1 + e1) + e0) with e = modulation + time embedding.
class HeadS2VImpl : public torch::nn::Module {
 public:
  HeadS2VImpl(int64_t dim, int64_t out_features, double eps);
  // x: [B, L, C], e: [B, C] float32 -> [B, L, out_features]
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& e);
  double eps;
  torch::Tensor modulation;  // [1, 2, C]
  torch::nn::Linear head{nullptr};
};
TORCH_MODULE(HeadS2V);

// as WanS2VAttentionBlock
class WanS2VAttentionBlockImpl : public torch::nn::Module {
 public:
  WanS2VAttentionBlockImpl(const DiTConfig& config);
  // x: [B, L, C] float32; e0: [B, 6, 2, C] float32 (segment 0 modulates tokens [0, seg), segment 1
  // the rest); context: [B, L_text, C]
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& e0, int64_t seg, const RopeTable& rope,
                        const torch::Tensor& context, const DiTOptions& options);

  double eps;
  torch::Tensor modulation;  // [1, 6, C]
  WanAttention self_attn{nullptr}, cross_attn{nullptr};
  WanLayerNormAffine norm3{nullptr};  // null without cross_attn_norm
  IndexedLinears ffn{nullptr};
};
TORCH_MODULE(WanS2VAttentionBlock);

class WanModelS2VImpl : public torch::nn::Module {
 public:
  // param_dtype: parameters are converted block by block while the model is built, so a bf16
  // 14B model never needs its float32 size (65 GB) in host memory. Parameters for which packed(name)
  // is true are left without storage as each block is built: a packed model (packed_weights.h)
  // fills them one block at a time in forward().
  explicit WanModelS2VImpl(const DiTConfig& config, torch::ScalarType param_dtype = torch::kFloat32,
                           const std::function<bool(const std::string&)>& packed = {});

  // Returns the predicted flow [C_out, T, H, W] in float32.
  torch::Tensor forward(const DiTInputs& inputs, DiTTrace* trace = nullptr);

  const DiTConfig& config() const { return config_; }
  DiTOptions options;

  torch::nn::Conv3d patch_embedding{nullptr}, cond_encoder{nullptr};
  IndexedLinears text_embedding{nullptr}, time_embedding{nullptr}, time_projection{nullptr};
  torch::nn::ModuleList blocks{nullptr};
  HeadS2V head{nullptr};
  CausalAudioEncoder casual_audio_encoder{nullptr};
  AudioInjector audio_injector{nullptr};
  torch::nn::Embedding trainable_cond_mask{nullptr};
  FramePackMotioner frame_packer{nullptr};
  torch::Tensor freqs;  // rope_freqs(head_dim), complex128 (not a parameter)
  // The packed block and audio-injector weights (GGUF / FP8) when the model keeps them packed.
  std::shared_ptr<PackedWeights> packed;

 private:
  // as unpatchify: x: [L, prod(patch) * C_out] -> [C_out, F*p0, H*p1, W*p2]
  torch::Tensor unpatchify(const torch::Tensor& x, std::array<int64_t, 3> grid) const;
  // motion tokens and their RoPE factors (process_motion / process_motion_frame_pack)
  std::pair<torch::Tensor, torch::Tensor> motion_tokens(const DiTInputs& in, int64_t add_last_motion,
                                                        DiTTrace* trace);

  DiTConfig config_;
};
TORCH_MODULE(WanModelS2V);

// Loads a checkpoint (official names) into model. Every tensor is checked against the model's
// configuration first, all problems in one s2v::Error; shapes may differ from the official ones in
// size-1 dimensions only. Tensors the model was built to keep packed (keep_packed) stay packed,
// their bytes on packed_device (model.packed); the others are converted into the parameters.
// With stream_packed the packed bytes stay in host memory and are uploaded a block at a time.
// `cancel` is checked before each tensor (minutes for the 14B model): s2v::Cancelled.
void load_dit_weights(WanModelS2VImpl& model, const weights::TensorSource& source, torch::Device packed_device,
                      bool stream_packed = false, const CancelToken& cancel = CancelToken::none());

}  // namespace s2v::wan
