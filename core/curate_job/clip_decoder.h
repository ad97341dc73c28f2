#pragma once
// Decodes one clip once for every curation metric (CURATION.md "Sampling"): frames sampled at
// `sample_fps` resized to the working resolution, dense grey frames for audio-visual sync, and the
// audio track as mono 16 kHz. Decoding goes through core/media (FFmpeg), never OpenCV's videoio.

#include <string>

#include "core/curation/clip_frames.h"
#include "models/base/cancel.h"

namespace s2v::curation {

struct DecodeOptions {
  double sample_fps = kDefaultSampleFps;
  int sync_long_side = 288;   // dense grey frames for sync (clips with audio only); 0 = none
  double max_seconds = 0;     // 0 = whole clip
  // Source-resolution BGR frames for a network that wants them (ClarityModel::native_frames_wanted):
  // `native_frames` frames, every `native_stride`-th source frame, centred in the (trimmed) clip.
  int native_frames = 0;
  int native_stride = 1;
};

// Throws s2v::Error (Corrupt / Unsupported / NotFound) naming the clip when it has no decodable
// video; s2v::Cancelled when `cancel` is requested (checked at every decoded frame).
ClipFrames decode_clip(const std::string& path, const DecodeOptions& options = {},
                       const CancelToken& cancel = CancelToken::none());

}  // namespace s2v::curation
