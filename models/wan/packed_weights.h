#pragma once
// DiT weights kept packed in memory — GGUF block quantisations and ComfyUI's scaled FP8 — and
// dequantised just before the layer that uses them runs, into buffers reused from block to block.
// Resident memory is the packed size plus one block (or one audio injector) in the compute dtype:
// a Q4_K 14B DiT needs about 9 GB on the device instead of 32 GB of bf16.
//
// What stays packed: the packed tensors (meta().dtype Q* or FP8) of the 40 attention blocks and of
// the audio injectors, which hold nearly all the weights. The rest (embeddings, head, FramePack,
// audio encoder) is small and is dequantised once when the model loads.
//
// Use: WanModelS2V(config, dtype, keep_packed(source)) builds a model whose packed parameters hold
// no storage; load_dit_weights(model, source) fills the rest and attaches the packed tensors;
// forward() materialises each block's parameters with PackedWeights::Scope around its call.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/types.h>

#include "models/weights/ggml_quant.h"

namespace s2v::weights {
class TensorSource;
}

namespace s2v::wan {

class PackedWeights {
 public:
  // The packed tensors of source for the parameters of module that keep_packed(source) names;
  // shapes are the parameters' official shapes (expected). The packed bytes are moved to device
  // once, or with stream (--offload_blocks) kept in host memory (pinned when CUDA is there) and
  // copied to device a block at a time: fewer bytes cross the bus than a bf16 block would.
  // Throws s2v::Error naming the tensor when the source has no packed form of one, or its element
  // count differs from the parameter's.
  PackedWeights(torch::nn::Module& module, const weights::TensorSource& source,
                const std::map<std::string, std::vector<int64_t>>& expected, torch::Device device,
                bool stream = false);
  // Empty; attach() adds tensors one at a time (benchmarks pack a model's own weights).
  explicit PackedWeights(torch::Device device, bool stream = false);

  // Keeps param (the module's parameter `name`, of official shape `shape`) packed as `packed`: its
  // bytes go to device() (or host memory when streamed) and the parameter's storage is released.
  void attach(const std::string& name, torch::Tensor param, weights::PackedTensor packed,
              std::vector<int64_t> shape);

  // Points every packed parameter whose name starts with prefix ("blocks.3.") at a dequantised copy
  // in a reused buffer of the parameter's dtype on device(), for the lifetime of the scope; when
  // the scope ends the parameters hold no storage again.
  class Scope {
   public:
    Scope() = default;
    Scope(Scope&&) noexcept = default;
    Scope& operator=(Scope&&) noexcept = default;
    ~Scope();

   private:
    friend class PackedWeights;
    std::vector<torch::Tensor> params_;  // released on destruction
  };
  Scope materialize(const std::string& prefix);

  bool empty() const { return tensors_.empty(); }
  bool contains(const std::string& name) const { return tensors_.count(name) != 0; }
  uint64_t packed_bytes() const;   // packed data (on device(), or in host memory when streamed)
  bool streamed() const { return stream_; }
  uint64_t buffer_bytes() const;   // the reused dequantisation buffers allocated so far
  const torch::Device& device() const { return device_; }

 private:
  struct Entry {
    weights::PackedTensor packed;
    torch::Tensor param;            // the module's parameter (a handle to the same tensor)
    std::vector<int64_t> shape;     // its official shape
    std::string buffer_key;         // shared by the same parameter of every block
  };
  torch::Device device_;
  bool stream_ = false;
  std::map<std::string, Entry> tensors_;
  std::map<std::string, torch::Tensor> buffers_;  // "<suffix>|<dtype>" -> reused output
};

// Which parameters a model built from source keeps packed: the packed tensors under "blocks." and
// "audio_injector.". Empty predicate (nothing packed) for a source without packed tensors.
std::function<bool(const std::string&)> keep_packed(const weights::TensorSource& source);

// Releases the storage of every parameter of module (under prefix) for which packed(name) is true,
// keeping dtype and device (the model's constructor calls it block by block).
void release_packed(torch::nn::Module& module, const std::string& prefix,
                    const std::function<bool(const std::string&)>& packed);

}  // namespace s2v::wan
