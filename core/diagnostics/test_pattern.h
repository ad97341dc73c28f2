#pragma once
// The "Test pattern" diagnostic job: exercises the queue end to end before any model is loaded.
// It encodes a short multi-segment test-pattern video with FFmpeg, one segment file per segment
// (kept in the job folder, announced as a preview when finished), then the whole video. It is a
// diagnostic, never presented as generation.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/jobs/job.h"

namespace s2v::diagnostics {

inline constexpr const char* kTestPatternKind = "test-pattern";
inline constexpr const char* kTestPatternLabel = "Test pattern";

struct TestPatternParams {
  int width = 320, height = 240;
  double fps = 16.0;
  int segments = 4;
  int frames_per_segment = 16;
  int frame_delay_ms = 0;   // slows the job down (tests use it to interrupt mid-job)

  nlohmann::json to_json() const;
  static TestPatternParams from_json(const nlohmann::json& j);  // validates, throws s2v::Error
};

// The RGB pixels of global frame `index` (H x W x 3): colour bars scrolled by the frame index, a
// white marker whose column encodes the index, and a band whose colour encodes the segment.
std::vector<uint8_t> test_pattern_frame(const TestPatternParams& p, int64_t index);

// The job runner registered under kTestPatternKind. Resumes from the last finished segment.
std::string run_test_pattern(jobs::JobContext& ctx);

}  // namespace s2v::diagnostics
