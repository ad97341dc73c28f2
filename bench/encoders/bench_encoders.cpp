// Throughput of the two conditioning encoders on CPU with tiny configurations (the parity-file
// configs when the parity folder is present, else built-in tiny ones), random weights:
// umT5 tokens/s (text_len tokens per prompt, padded as in the pipeline) and the wav2vec2
// real-time factor (compute seconds per second of 16 kHz audio; < 1 is faster than real time).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "models/t5/umt5.h"
#include "models/wav2vec2/audio_bucket.h"
#include "models/wav2vec2/wav2vec2.h"
#include "models/weights/safetensors.h"

using namespace s2v;
using Clock = std::chrono::steady_clock;

namespace {

std::filesystem::path parity_dir() {
  if (const char* env = std::getenv("S2V_PARITY_DIR")) return env;
  return std::filesystem::path(S2V_SOURCE_DIR) / ".." / "shared" / "testdata" / "parity";
}

std::string metadata(const std::string& file, const std::string& key) {
  try {
    auto f = weights::SafetensorsFile::open(parity_dir() / file);
    auto it = f.metadata().find(key);
    if (it != f.metadata().end()) return it->second;
  } catch (...) {
  }
  return {};
}

template <class F>
double seconds_per_run(F&& f, int runs) {
  f();  // warm-up
  const auto t0 = Clock::now();
  for (int i = 0; i < runs; ++i) f();
  return std::chrono::duration<double>(Clock::now() - t0).count() / runs;
}

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::atoi(argv[1]) : 5;
  torch::manual_seed(0);
  torch::NoGradGuard ng;

  // umT5
  std::string t5_json = metadata("umt5_encoder_tiny.safetensors", "config");
  if (t5_json.empty())
    t5_json = R"({"vocab": 256, "dim": 32, "dim_attn": 32, "dim_ffn": 64, "num_heads": 4, "num_layers": 2, "num_buckets": 32})";
  const auto t5c = t5::UMT5Config::from_json(t5_json);
  t5::UMT5Encoder t5m(t5c);
  const int64_t text_len = 512, batch = 2;  // prompt + negative prompt, padded to text_len
  auto ids = torch::randint(t5c.vocab, {batch, text_len}, torch::kLong);
  auto mask = torch::zeros({batch, text_len}, torch::kLong);
  mask.slice(1, 0, 120).fill_(1);
  const double t5_s = seconds_per_run([&] { t5m(ids, mask); }, runs);

  // wav2vec2
  std::string w_json = metadata("wav2vec2_xlsr_tiny.safetensors", "hf_config");
  wav2vec2::Wav2Vec2Config wc;
  if (!w_json.empty()) {
    wc = wav2vec2::Wav2Vec2Config::from_json(w_json);
  } else {
    wc.conv_dim.assign(7, 16);
    wc.hidden_size = 32; wc.num_hidden_layers = 2; wc.num_attention_heads = 4;
    wc.intermediate_size = 64; wc.num_conv_pos_embeddings = 16; wc.num_conv_pos_embedding_groups = 4;
  }
  wav2vec2::Wav2Vec2Encoder wm(wc);
  const double audio_s = 10.0;
  auto wave = torch::randn({static_cast<int64_t>(audio_s * 16000)});
  torch::Tensor states;
  const double w_s = seconds_per_run([&] { states = wm->hidden_states(wave); }, runs);
  const double b_s = seconds_per_run([&] { wav2vec2::encode_audio(states, 16, 80, 0); }, runs);

  std::printf("encoder benchmark, CPU float32, %d threads, %d runs each\n", torch::get_num_threads(), runs);
  std::printf("%-40s %-34s %12s %14s\n", "module", "config", "time/run", "throughput");
  char cfg[128];
  std::snprintf(cfg, sizeof cfg, "dim %lld, %lld layers, %lld heads", (long long)t5c.dim,
                (long long)t5c.num_layers, (long long)t5c.num_heads);
  std::printf("%-40s %-34s %9.2f ms %8.0f tok/s\n", "umT5 encoder (2 x 512 tokens)", cfg,
              t5_s * 1e3, batch * text_len / t5_s);
  std::snprintf(cfg, sizeof cfg, "dim %lld, %lld layers, %zu convs", (long long)wc.hidden_size,
                (long long)wc.num_hidden_layers, wc.conv_dim.size());
  std::printf("%-40s %-34s %9.2f ms %9.4f RTF\n", "wav2vec2 hidden states (10 s audio)", cfg,
              w_s * 1e3, w_s / audio_s);
  std::printf("%-40s %-34s %9.2f ms %9.4f RTF\n", "audio bucketing (50->30 Hz, fps 16)", "80 frames/clip",
              b_s * 1e3, b_s / audio_s);
  return 0;
}
