// The paper's networks for curation, built from the weight files named in a curate job's params
// ("pose_weights", "clip_weights" + "aesthetic_weights"); absent names keep the fallbacks.
#include "core/curate_job/model_loading.h"

#include "models/clip/aesthetic.h"
#include "models/pose/pose_estimator.h"

namespace s2v::curation {

void load_curation_models(const nlohmann::json& params, CurateOptions& options) {
  const std::string pose = params.value("pose_weights", std::string());
  if (!pose.empty()) options.pose = pose::make_pose_model(pose);
  const std::string clip_w = params.value("clip_weights", std::string());
  const std::string mlp_w = params.value("aesthetic_weights", std::string());
  if (!clip_w.empty() || !mlp_w.empty()) {
    if (clip_w.empty() || mlp_w.empty())
      throw Error("aesthetics needs both --clip_weights (CLIP ViT-L/14) and --aesthetic_weights (the MLP)",
                  ErrorKind::InvalidArgument, clip_w.empty() ? mlp_w : clip_w);
    options.aesthetics = clip::make_aesthetics_model(clip_w, mlp_w);
  }
}

}  // namespace s2v::curation
