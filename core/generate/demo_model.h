#pragma once
// `s2v make-demo-model DIR`: a complete model folder in the official Wan2.2-S2V-14B layout
// (docs/model-folder.md) with tiny random weights — a sharded DiT with its index, Wan2.1_VAE.pth and
// models_t5_umt5-xxl-enc-bf16.pth as PyTorch zip archives, a sentencepiece tokenizer trained on a
// built-in corpus, a wav2vec2 folder with config.json + model.safetensors — so the demo goes
// through exactly the loaders and the pipeline a real checkpoint does. Its output is noise; the
// folder says so (s2v_model.json "demo": true, README.txt) and the UI/CLI label it kDemoModelLabel.
// No LibTorch in this header.

#include <cstdint>
#include <filesystem>

namespace s2v::generate {

// Writes the folder (created; existing files of the same names are replaced, atomically each).
// Deterministic for a seed. Throws s2v::Error(Io) when the folder cannot be written.
void make_demo_model(const std::filesystem::path& dir, uint64_t seed = 2025);

}  // namespace s2v::generate
