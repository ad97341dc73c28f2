// The paper's networks for curation, built from the weight files named in a curate job's params;
// absent names keep the fallbacks of CURATION.md.
#include "core/curate_job/model_loading.h"

#include "models/clip/aesthetic.h"
#include "models/dover/dover_clarity.h"
#include "models/light_asd/light_asd_sync.h"
#include "models/pose/pose_estimator.h"
#include "models/unimatch/unimatch_motion.h"

namespace s2v::curation {

void load_curation_models(const std::map<std::string, std::string>& weights, CurateOptions& options) {
  auto path = [&](const char* name) {
    const auto it = weights.find(name);
    return it == weights.end() ? std::string() : it->second;
  };
  if (const auto pose = path("pose_weights"); !pose.empty()) options.pose = pose::make_pose_model(pose);
  const std::string clip_w = path("clip_weights"), mlp_w = path("aesthetic_weights");
  if (!clip_w.empty() || !mlp_w.empty()) {
    if (clip_w.empty() || mlp_w.empty())
      throw Error("aesthetics needs both --clip_weights (CLIP ViT-L/14) and --aesthetic_weights (the MLP)",
                  ErrorKind::InvalidArgument, clip_w.empty() ? mlp_w : clip_w);
    options.aesthetics = clip::make_aesthetics_model(clip_w, mlp_w);
  }
  if (const auto dover = path("dover_weights"); !dover.empty()) options.clarity_model = dover::make_clarity_model(dover);
  if (const auto flow = path("unimatch_weights"); !flow.empty()) options.motion_model = unimatch::make_motion_model(flow);
  if (const auto asd = path("light_asd_weights"); !asd.empty()) options.sync_model = light_asd::make_sync_model(asd);
}

}  // namespace s2v::curation
