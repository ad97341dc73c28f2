#pragma once
// A checkpoint folder for generation, found, described and validated before any job starts.
//
// Layouts accepted (docs/model-folder.md):
//   official Wan-AI/Wan2.2-S2V-14B: config.json + diffusion_pytorch_model*.safetensors (sharded
//     with its .index.json, or one file), Wan2.1_VAE.pth, models_t5_umt5-xxl-enc-bf16.pth,
//     google/umt5-xxl/ (spiece.model), wav2vec2-large-xlsr-53-english/ (config.json +
//     model.safetensors or pytorch_model.bin); single-file safetensors in place of the .pth files;
//   a ComfyUI models/ folder (diffusion_models/, text_encoders/, vae/, audio_encoders/): each
//     component is the file whose tensors are that network, in bf16, fp16, FP8 (scaled) or GGUF;
//   any component replaced by a file of its own (ComponentOverrides);
//   an optional s2v_model.json at the root: {"demo", "label", "text_len", "dit", "t5", "vae",
//     "wav2vec2"} with configurations that differ from the official ones (the demo model uses it).
// No LibTorch, no Qt in this header: the Generate workspace includes it.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/generate/generate_params.h"
#include "models/wan/dit_config.h"

namespace s2v::generate {

inline constexpr const char* kDemoModelLabel = "Demo model (random weights: output is noise)";

struct ModelComponent {
  std::string name;                // "DiT", "VAE", "umT5", "tokenizer", "wav2vec2"
  std::filesystem::path path;      // file or folder used (empty when missing)
  std::string format;              // "safetensors: BF16", "GGUF: Q4_K 93%, F32 7%", "embedded in the umT5 file"
  uint64_t parameters = 0;         // elements over every tensor
  uint64_t stored_bytes = 0;       // bytes on disk of the tensors
  uint64_t packed_parameters = 0;  // elements stored block-quantised (GGUF Q*) or as FP8, which the
  uint64_t packed_bytes = 0;       //   DiT keeps packed in memory, and their bytes
  // Bytes the weights take in memory at `dtype` ("float32" | "bfloat16" | "float16"): packed
  // tensors at their stored size, the rest at dtype.
  uint64_t memory_bytes(const std::string& dtype) const;
};

struct ModelFolder {
  std::filesystem::path root;
  std::string layout;              // "official folder", "ComfyUI models folder", "component files"
  bool demo = false;               // s2v_model.json says "demo": true
  std::string label;               // kDemoModelLabel for the demo, else "Wan2.2-S2V-14B (...)"
  std::vector<ModelComponent> components;
  wan::DiTConfig dit;              // the DiT's configuration (defaults when it could not be read)
  std::string wav2vec2_config;     // the wav2vec2 Hugging Face config (JSON; empty when unread)
  std::vector<std::string> notes;     // choices made (which of several files; files skipped and why)
  std::vector<std::string> problems;  // every problem found, one sentence each; empty = usable

  bool ok() const { return problems.empty(); }
  const ModelComponent* component(const std::string& name) const;
  uint64_t total_parameters() const;
};

// Looks at every file the pipeline needs: presence, safetensors/pth headers, and (deep = true)
// every tensor name and shape against the architecture the configs imply. Never throws for a bad
// folder: everything wrong is listed in problems.
// overrides replace single components (GenerateParams::components).
ModelFolder inspect_model_folder(const std::filesystem::path& root, bool deep = true,
                                 const ComponentOverrides& overrides = {});

// The JSON form `s2v inspect-model --json` prints and the GUI reads back (every field above).
// model_folder_from_json throws s2v::Error(Corrupt) for a document that is not one.
nlohmann::json to_json(const ModelFolder& model);
ModelFolder model_folder_from_json(const nlohmann::json& j);

// Memory of the first CUDA device in GB (0 when this build or machine has none): the default of
// the Generate workspace's GPU memory field (which reads it from `s2v inspect-model --json`).
double detected_gpu_memory_gb();

// The bundled demo model folder: $S2V_DEMO_MODEL, else <exe>/../share/s2v-studio/demo-model,
// else the build tree's demo-model. Empty when none exists.
std::filesystem::path find_demo_model();

// Memory the stages need at a resolution, dtype and device, and what offloading saves.
struct MemoryEstimate {
  int height = 0, width = 0, clips = 0;
  int64_t tokens = 0;                   // DiT sequence length (noisy + reference + motion tokens)
  uint64_t dit_weights = 0, t5_weights = 0, vae_weights = 0, wav2vec2_weights = 0;
  uint64_t dit_activations = 0;         // peak of one forward
  uint64_t vae_activations = 0;         // peak of one clip's decode
  double audio_encoded_s = 0.0;         // seconds wav2vec2 encodes (audio_seconds_for_clips)
  uint64_t audio_activations = 0;       // wav2vec2 over that span (attention is quadratic in it)
  uint64_t audio_samples = 0;           // the decoded audio, held for the whole job
  uint64_t peak_device = 0;             // everything resident (no offload)
  uint64_t peak_offload_model = 0;      // encoders and VAE off the device while the DiT runs
  uint64_t peak_offload_blocks = 0;     // plus the DiT streamed block by block
  double tflops_per_step = 0.0;         // DiT forward work per denoising step (both CFG branches)
  std::string summary() const;          // a few lines for the CLI and the UI
};

// dtype: "float32" | "bfloat16" | "float16"; clips from the audio length (or params.num_clip);
// audio_s: the audio's length after trimming (0: leave the audio stage out).
MemoryEstimate estimate_memory(const ModelFolder& model, const GenerateParams& params,
                               int height, int width, int clips, const std::string& dtype,
                               double audio_s = 0.0);

// The cheapest settings that fit a GPU of `vram_gb` (s2v generate --vram): everything resident,
// else --offload_model (encoders and VAE off the GPU while the DiT runs), else --offload_blocks
// (DiT blocks streamed from host memory each step, bound by the PCIe link). Usable memory is the
// card's less 1 GiB for the CUDA context and kernels and 5% for allocator fragmentation.
struct MemoryPlan {
  bool fits = false;
  bool offload_model = false, offload_blocks = false;
  uint64_t needed = 0;   // peak bytes with the chosen settings (the smallest peak when nothing fits)
  uint64_t usable = 0;   // bytes the plan may use
  std::string settings;  // "resident", "--offload_model", "--offload_model --offload_blocks"
  std::string reason;    // one sentence: what was chosen and why, or what would fit
};
MemoryPlan plan_memory(const MemoryEstimate& estimate, double vram_gb);

}  // namespace s2v::generate
