#pragma once
// From wav2vec2 hidden states (50 Hz) to the per-video-frame audio the S2V DiT consumes, as
// wan/modules/s2v/audio_encoder.py (linear_interpolation 50 -> 30 Hz, get_audio_embed_bucket_fps
// with fps 16) followed by the permute in wan/speech2video.py encode_audio. Also: how many clips
// an audio of a given length implies (num_repeat). No <torch/torch.h> here.

#include <cstdint>

#include <torch/types.h>

#include "models/wav2vec2/wav2vec2_config.h"

namespace s2v::wav2vec2 {

constexpr double kVideoRate = 30.0;     // AudioEncoder.video_rate

// as linear_interpolation: features [layers, T, C] at input_fps -> [layers, T', C] with
// T' = int(T / input_fps * output_fps) unless output_len >= 0 is given (align_corners=True).
torch::Tensor linear_interpolation(const torch::Tensor& features, double input_fps = kWav2Vec2Rate,
                                   double output_fps = kVideoRate, int64_t output_len = -1);

// Number of 30 Hz frames linear_interpolation yields for `frames_50hz` wav2vec2 frames.
int64_t frames_30hz(int64_t frames_50hz, double input_fps = kWav2Vec2Rate,
                    double output_fps = kVideoRate);

// as the start of get_audio_embed_bucket_fps: min_batch_num, the number of clips of batch_frames
// video frames at fps the audio fills (always at least 1; a partial clip counts as a clip).
int64_t num_clips(int64_t audio_frames_30hz, int64_t fps = 16, int64_t batch_frames = 80,
                  double video_rate = kVideoRate);

struct AudioBucket {
  // [N, layers, (2m+1)·C] for layered input (layers > 1), [N, (2m+1)·C] for one layer;
  // N = num_repeat · batch_frames; frames past the audio are zeros.
  torch::Tensor bucket;
  int64_t num_repeat = 0;  // clips (min_batch_num)
};

// as AudioEncoder.get_audio_embed_bucket_fps: audio_embed [layers, T30, C] at video_rate.
AudioBucket audio_embed_bucket_fps(const torch::Tensor& audio_embed, int64_t fps = 16,
                                   int64_t batch_frames = 80, int64_t m = 0,
                                   double video_rate = kVideoRate);

// as the permute in speech2video.py encode_audio: bucket [N, layers, C'] -> [1, layers, C', N]
// (or [N, C'] -> [1, C', N]).
torch::Tensor bucket_to_model_layout(const torch::Tensor& bucket);

// The whole chain for the pipeline: hidden_50hz [layers, T50, C] -> audio_embed [1, layers, C, N]
// and the clip count.
struct EncodedAudio {
  torch::Tensor audio_embed;
  int64_t num_repeat = 0;
};
EncodedAudio encode_audio(const torch::Tensor& hidden_50hz, int64_t fps = 16,
                          int64_t infer_frames = 80, int64_t m = 0);

// Clips implied by an audio of `samples` at 16 kHz, given the wav2vec2 conv stack's frame count
// function (see Wav2Vec2Config::num_frames); convenient for the UI's "N clips" label.
int64_t num_clips_for_frames_50hz(int64_t frames_50hz, int64_t fps = 16,
                                  int64_t infer_frames = 80);

}  // namespace s2v::wav2vec2
