#pragma once
// ClipFrames: the decoded input of every curation metric. The metrics are pure functions of this
// value, so they do not depend on how (or by whom) the clip was decoded. No Qt, no LibTorch.

#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace s2v::curation {

// Working resolution of CURATION.md: 576 px on the long side.
inline constexpr int kWorkingLongSide = 576;
// Default sampling rate of frames for pose, faces, sharpness, text and flow pairs.
inline constexpr double kDefaultSampleFps = 4.0;

struct ClipFrames {
  std::string path;           // for reports and errors only; metrics never open it
  double duration_s = 0.0;    // duration of the source clip
  int width = 0;              // source frame size
  int height = 0;
  double source_fps = 0.0;    // frame rate of the source clip

  // Sampled frames: BGR CV_8UC3 at the working resolution, `fps` per second of video.
  double fps = kDefaultSampleFps;
  std::vector<cv::Mat> frames;
  std::vector<double> timestamps;  // seconds, one per frame

  // Optional: mono 16 kHz float audio of the whole clip (empty = the clip has no audio).
  std::vector<float> audio;
  int audio_rate = 16000;

  // Optional: dense grey frames for audio-visual sync (every source frame, any size with the
  // aspect of `frames`; e.g. 288 px long side). Empty: sync uses the sampled frames.
  double sync_fps = 0.0;
  std::vector<cv::Mat> sync_frames;

  // Optional: consecutive source-resolution BGR frames (every `native_stride`-th source frame,
  // centred in the clip) for a network that judges fine detail, e.g. DOVER's technical fragments.
  // Filled only when DecodeOptions::native_frames > 0.
  int native_stride = 1;
  std::vector<cv::Mat> native_frames;

  bool has_audio() const { return !audio.empty(); }
};

// Resizes a decoded frame so that its long side is `long_side` (area interpolation when
// shrinking, linear when enlarging). BGR in, BGR out.
cv::Mat resize_long_side(const cv::Mat& frame, int long_side = kWorkingLongSide);

}  // namespace s2v::curation
