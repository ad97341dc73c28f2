#include "core/curation/network_models.h"

namespace s2v::curation {

const std::vector<CurationNetwork>& curation_networks() {
  static const std::vector<CurationNetwork> table = {
      {"pose_weights", "ViTPose whole-body",
       "ViTPose whole-body checkpoint (mmpose .pth or safetensors): keypoints, skeletons and hand boxes "
       "instead of the HOG/face-cascade boxes"},
      {"clip_weights", "CLIP ViT-L/14",
       "CLIP ViT-L/14 weights (OpenAI or Hugging Face names) for aesthetics; needs aesthetic_weights too"},
      {"aesthetic_weights", "Aesthetic MLP", "improved-aesthetic-predictor MLP (.pth or safetensors)"},
      {"dover_weights", "DOVER",
       "DOVER checkpoint (the official DOVER.pth, or safetensors) for clarity instead of BRISQUE"},
      {"unimatch_weights", "UniMatch",
       "UniMatch GMFlow checkpoint (e.g. gmflow-scale2-regrefine6-mixdata .pth, or safetensors) for motion "
       "instead of DIS optical flow; slow on a CPU (about 15 s per frame pair)"},
      {"light_asd_weights", "Light-ASD",
       "Light-ASD checkpoint (the official .model, or safetensors) for audio-visual sync instead of mouth "
       "motion vs the audio envelope"},
  };
  return table;
}

}  // namespace s2v::curation
