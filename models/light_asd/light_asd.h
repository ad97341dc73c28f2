#pragma once
// Light-ASD (Liao et al., CVPR 2023, "A Light Weight Model for Active Speaker Detection") in
// LibTorch: the visual and audio encoders of model/Encoder.py, the BGRU of model/Classifier.py,
// ASD_Model of model/Model.py and the FC heads of loss.py, registered under the names of the
// official checkpoint (the state_dict of class ASD in ASD.py):
//
//   model.visualEncoder.block{1,2,3}.{s_3,bn_s_3,t_3,bn_t_3,s_5,bn_s_5,t_5,bn_t_5,last,bn_last}
//   model.audioEncoder.block{1,2,3}.{m_3,bn_m_3,t_3,bn_t_3,m_5,bn_m_5,t_5,bn_t_5,last,bn_last}
//   model.GRU.{gru_forward,gru_backward}.{weight_ih_l0,weight_hh_l0,bias_ih_l0,bias_hh_l0}
//   lossAV.FC.{weight,bias}   lossV.FC.{weight,bias}
//
// so named_parameters() + named_buffers() equal the keys of weight/pretrain_AVA_CVPR.model.
//
//   LightAsd asd;
//   load_light_asd(*asd, open_checkpoint("pretrain_AVA_CVPR.model"));
//   auto p = asd->speaking_probability(mfcc, faces);  // [1, 4T, 13], [1, T, 112, 112] -> [T]

#include <cstdint>
#include <memory>
#include <string>

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/rnn.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace s2v::weights {
class TensorSource;
}

namespace s2v::light_asd {

// Input geometry of the official pipeline: 25 video frames and 100 MFCC frames per second, grey
// face crops of 112×112, 13 cepstra.
inline constexpr int64_t kVideoFps = 25;
inline constexpr int64_t kAudioFramesPerVideoFrame = 4;
inline constexpr int64_t kFaceSide = 112;
inline constexpr int64_t kNumCepstra = 13;
inline constexpr int64_t kEmbedDim = 128;

// Audio_Block of Encoder.py: two branches (3 and 5 taps), each a conv over the cepstra then a conv
// over time, summed, then a 1×1 conv. x: [B, C_in, 13, T_a] -> [B, C_out, 13, T_a].
class AudioBlockImpl : public torch::nn::Module {
 public:
  AudioBlockImpl(int64_t in_channels, int64_t out_channels);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Conv2d m_3{nullptr}, t_3{nullptr}, m_5{nullptr}, t_5{nullptr}, last{nullptr};
  torch::nn::BatchNorm2d bn_m_3{nullptr}, bn_t_3{nullptr}, bn_m_5{nullptr}, bn_t_5{nullptr},
      bn_last{nullptr};
};
TORCH_MODULE(AudioBlock);

// Visual_Block of Encoder.py: spatial (1×k×k) then temporal (k×1×1) convs for k = 3 and 5, summed,
// then a 1×1×1 conv. is_down: the spatial convs have stride 2.
// x: [B, C_in, T, H, W] -> [B, C_out, T, H', W'].
class VisualBlockImpl : public torch::nn::Module {
 public:
  VisualBlockImpl(int64_t in_channels, int64_t out_channels, bool is_down = false);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Conv3d s_3{nullptr}, t_3{nullptr}, s_5{nullptr}, t_5{nullptr}, last{nullptr};
  torch::nn::BatchNorm3d bn_s_3{nullptr}, bn_t_3{nullptr}, bn_s_5{nullptr}, bn_t_5{nullptr},
      bn_last{nullptr};
};
TORCH_MODULE(VisualBlock);

// visual_encoder: x: [B, 1, T, 112, 112] (normalised) -> [B, T, 128].
class VisualEncoderImpl : public torch::nn::Module {
 public:
  VisualEncoderImpl();
  torch::Tensor forward(const torch::Tensor& x);
  VisualBlock block1{nullptr}, block2{nullptr}, block3{nullptr};
};
TORCH_MODULE(VisualEncoder);

// audio_encoder: x: [B, 1, 13, T_a] -> [B, ceil(ceil(T_a / 2) / 2), 128].
class AudioEncoderImpl : public torch::nn::Module {
 public:
  AudioEncoderImpl();
  torch::Tensor forward(const torch::Tensor& x);
  AudioBlock block1{nullptr}, block2{nullptr}, block3{nullptr};
};
TORCH_MODULE(AudioEncoder);

// BGRU of Classifier.py: a forward GRU, GELU, a second GRU over the reversed sequence, reversed
// back, GELU. x: [B, T, C] -> [B, T, C].
class BGruImpl : public torch::nn::Module {
 public:
  explicit BGruImpl(int64_t channels);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::GRU gru_forward{nullptr}, gru_backward{nullptr};
};
TORCH_MODULE(BGru);

// ASD_Model of Model.py.
class AsdModelImpl : public torch::nn::Module {
 public:
  AsdModelImpl();
  // frames: [B, T, 112, 112] grey values 0..255 -> [B, T, 128] (as forward_visual_frontend)
  torch::Tensor forward_visual_frontend(const torch::Tensor& frames);
  // mfcc: [B, T_a, 13] -> [B, T_a / 4, 128] (as forward_audio_frontend)
  torch::Tensor forward_audio_frontend(const torch::Tensor& mfcc);
  // audio, visual: [B, T, 128] -> [B*T, 128] (as forward_audio_visual_backend)
  torch::Tensor forward_audio_visual_backend(const torch::Tensor& audio, const torch::Tensor& visual);
  // visual: [B, T, 128] -> [B*T, 128] (as forward_visual_backend)
  torch::Tensor forward_visual_backend(const torch::Tensor& visual);

  VisualEncoder visualEncoder{nullptr};
  AudioEncoder audioEncoder{nullptr};
  BGru GRU{nullptr};
};
TORCH_MODULE(AsdModel);

// The FC of lossAV / lossV in loss.py: x: [N, 128] -> logits [N, 2] (class 1 = speaking).
class HeadImpl : public torch::nn::Module {
 public:
  HeadImpl();
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Linear FC{nullptr};
};
TORCH_MODULE(Head);

// The whole of class ASD minus its optimiser: the network and both heads. with_visual_head=false
// leaves out lossV (a training-only head) for checkpoints that do not carry it.
class LightAsdImpl : public torch::nn::Module {
 public:
  explicit LightAsdImpl(bool with_visual_head = true);

  // mfcc: [B, 4T, 13], frames: [B, T, 112, 112] (0..255) -> audio-visual logits [B*T, 2]
  torch::Tensor forward(const torch::Tensor& mfcc, const torch::Tensor& frames);
  // Logits of pre-computed embeddings: audio, visual: [B, T, 128] -> [B*T, 2].
  torch::Tensor logits_of_embeddings(const torch::Tensor& audio, const torch::Tensor& visual);
  // P(speaking) per frame: softmax over the two lossAV logits, class 1 (as ASD.evaluate_network
  // scores AVA; Columbia_test.py thresholds the raw class-1 logit at 0, the same decision).
  // Same arguments as forward -> [B*T].
  torch::Tensor speaking_probability(const torch::Tensor& mfcc, const torch::Tensor& frames);

  bool has_visual_head() const { return !lossV.is_empty(); }

  AsdModel model{nullptr};
  Head lossAV{nullptr};
  Head lossV{nullptr};
};
TORCH_MODULE(LightAsd);

// The key map of the loader: the official checkpoint's names are native (no map); a foreign layout
// nests them under a prefix, e.g. DataParallel's "module." (which ASD.loadParameters strips) or a
// repackaging's own, and is read by stripping it (weights::detect_key_map: the prefix under which
// most stored names become native names). Returns that prefix, "" for the official layout.
// A file with ASD_Model's state_dict alone has no lossAV head to score with and is reported as
// missing tensors.
std::string detect_light_asd_prefix(const weights::TensorSource& source);

// Fills model from source (the official .model/.pth or a safetensors file with the same names).
// Every missing, unexpected or mis-shaped tensor is reported in one s2v::ValidationError naming
// the file.
void load_light_asd(LightAsdImpl& model, const std::shared_ptr<weights::TensorSource>& source);

// A LightAsd built for the checkpoint (with lossV when the file has it) and loaded, in eval mode.
LightAsd load_light_asd(const std::shared_ptr<weights::TensorSource>& source);

}  // namespace s2v::light_asd
