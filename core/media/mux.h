#pragma once
// Final export: clip segments (written by VideoWriter with the same options) joined by remuxing
// their packets (no re-encoding), with the original audio encoded (AAC in MP4/MOV, FLAC in MKV)
// and trimmed (or padded with silence) to the video's length; and still-image export (PNG files, PNG sequences).
// Outputs are written under "<name>.part" and renamed. No Qt, no LibTorch.

#include <cstdint>
#include <filesystem>
#include <vector>

namespace s2v::media {

struct ExportOptions {
  std::filesystem::path audio;  // optional: any file with an audio track (WAV, MP3, a video, ...)
  double audio_start_s = 0.0;   // the audio used starts here in that file
  int audio_bitrate = 192000;   // AAC bit rate (MKV gets lossless FLAC)
  bool faststart = true;        // MP4/MOV: index before the data
};

struct ExportResult {
  int64_t video_frames = 0;
  double video_duration_s = 0.0;
  double audio_duration_s = 0.0;  // 0 without audio
  int audio_sample_rate = 0;
};

// Joins the segments' video streams in order into `out` (.mp4, .mov or .mkv). Every segment must
// have the same codec, size and codec extradata (the encoder settings); the frame timing of each
// segment is kept. Throws s2v::Error: InvalidArgument (no segments, mismatched segments),
// NotFound / Corrupt / Unsupported for inputs, Io for the output.
ExportResult concat_segments(const std::vector<std::filesystem::path>& segments,
                             const std::filesystem::path& out, const ExportOptions& options = {});

// One RGB picture (H x W x 3, rows stride_bytes apart) to a PNG file.
void write_png(const std::filesystem::path& path, const uint8_t* rgb, int width, int height,
               int stride_bytes);

// Every frame of a video as <folder>/frame_000000.png, ...; the folder is assembled as
// "<folder>.part" and renamed, and must not exist yet. Returns the number of frames.
int64_t export_png_sequence(const std::filesystem::path& video, const std::filesystem::path& folder);

}  // namespace s2v::media
