#include "models/wav2vec2/audio_bucket.h"

#include <cmath>
#include <vector>

#include <torch/torch.h>

#include "models/base/error.h"

namespace s2v::wav2vec2 {

int64_t frames_30hz(int64_t frames_50hz, double input_fps, double output_fps) {
  // seq_len = T / float(input_fps); int(seq_len * output_fps)
  const double seq_len = static_cast<double>(frames_50hz) / input_fps;
  return static_cast<int64_t>(seq_len * output_fps);
}

// features: [layers, T, C] -> [layers, T', C]
torch::Tensor linear_interpolation(const torch::Tensor& features, double input_fps,
                                   double output_fps, int64_t output_len) {
  if (features.dim() != 3)
    throw Error("linear_interpolation expects [layers, frames, dim] features", ErrorKind::InvalidArgument);
  if (output_len < 0) output_len = frames_30hz(features.size(1), input_fps, output_fps);
  if (output_len < 1)
    throw Error("the audio is too short: " + std::to_string(features.size(1)) +
                    " feature frames give no video-rate frame",
                ErrorKind::InvalidArgument);
  auto x = features.transpose(1, 2);  // [layers, C, T]
  auto y = at::upsample_linear1d(x.contiguous(), {output_len}, /*align_corners=*/true);
  return y.transpose(1, 2);            // [layers, T', C]
}

int64_t num_clips(int64_t audio_frames_30hz, int64_t fps, int64_t batch_frames, double video_rate) {
  const double scale = video_rate / static_cast<double>(fps);
  return static_cast<int64_t>(static_cast<double>(audio_frames_30hz) /
                              (static_cast<double>(batch_frames) * scale)) + 1;
}

// audio_embed: [layers, T, C]
AudioBucket audio_embed_bucket_fps(const torch::Tensor& audio_embed, int64_t fps,
                                   int64_t batch_frames, int64_t m, double video_rate) {
  if (audio_embed.dim() != 3)
    throw Error("the audio bucket expects [layers, frames, dim] features", ErrorKind::InvalidArgument);
  const int64_t num_layers = audio_embed.size(0), frame_num = audio_embed.size(1),
                dim = audio_embed.size(2);
  if (frame_num < 1) throw Error("the audio has no frames", ErrorKind::InvalidArgument);
  const bool all_layers = num_layers > 1;
  const int64_t min_batch_num = num_clips(frame_num, fps, batch_frames, video_rate);
  const int64_t bucket_num = min_batch_num * batch_frames;
  const int64_t padd = static_cast<int64_t>(std::ceil(static_cast<double>(min_batch_num * batch_frames) /
                                                      static_cast<double>(fps) * video_rate)) -
                       frame_num;
  const int64_t total_frames = frame_num + padd;

  // as get_sample_indices(original_fps=video_rate, total_frames, target_fps=fps,
  // num_sample=bucket_num, fixed_start=0): np.linspace(0, duration, n, endpoint=False),
  // np.round (half to even), clipped
  const double required_duration = static_cast<double>(bucket_num) / static_cast<double>(fps);
  if (required_duration > static_cast<double>(total_frames) / video_rate)
    throw Error("the padded audio is shorter than the clips it must fill", ErrorKind::InvalidArgument);
  const double step = required_duration / static_cast<double>(bucket_num);
  const int64_t stride = static_cast<int64_t>(video_rate / static_cast<double>(fps));

  std::vector<int64_t> index;  // source frame per (bucket entry, window slot); -1 = zeros
  index.reserve(bucket_num * (2 * m + 1));
  for (int64_t i = 0; i < bucket_num; ++i) {
    const double t = static_cast<double>(i) * step;
    int64_t bi = static_cast<int64_t>(std::nearbyint(t * video_rate));
    bi = std::clamp<int64_t>(bi, 0, total_frames - 1);
    for (int64_t c = bi - m * stride, k = 0; k < 2 * m + 1; c += stride, ++k)
      index.push_back(bi < frame_num ? std::clamp<int64_t>(c, 0, frame_num - 1) : -1);
  }
  auto idx = torch::tensor(index, torch::kLong);
  auto valid = idx.ge(0);
  // gather [layers, N·(2m+1), C], zero the frames past the audio
  auto g = audio_embed.index_select(1, idx.clamp_min(0).to(audio_embed.device()));
  g = g * valid.to(g.device(), g.scalar_type()).view({1, -1, 1});
  // [layers, N, (2m+1)·C] (audio_embed[:, chosen].flatten(-2, -1))
  g = g.reshape({num_layers, bucket_num, (2 * m + 1) * dim});
  AudioBucket out;
  out.bucket = all_layers ? g.transpose(0, 1).contiguous() : g[0].contiguous();
  out.num_repeat = min_batch_num;
  return out;
}

torch::Tensor bucket_to_model_layout(const torch::Tensor& bucket) {
  auto b = bucket.unsqueeze(0);
  if (b.dim() == 3) return b.permute({0, 2, 1});
  if (b.dim() == 4) return b.permute({0, 2, 3, 1});
  throw Error("unexpected audio bucket rank " + std::to_string(bucket.dim()), ErrorKind::InvalidArgument);
}

EncodedAudio encode_audio(const torch::Tensor& hidden_50hz, int64_t fps, int64_t infer_frames, int64_t m) {
  auto z = linear_interpolation(hidden_50hz);
  auto b = audio_embed_bucket_fps(z, fps, infer_frames, m);
  return {bucket_to_model_layout(b.bucket), b.num_repeat};
}

int64_t num_clips_for_frames_50hz(int64_t frames_50hz, int64_t fps, int64_t infer_frames) {
  return num_clips(frames_30hz(frames_50hz), fps, infer_frames);
}

}  // namespace s2v::wav2vec2
