#pragma once
// Prompt -> umT5 context, as T5EncoderModel.__call__ in wan/modules/t5.py: tokenize (clean,
// EOS, pad to text_len), run the encoder with the padding mask, keep each prompt's first
// n_valid rows. Results are kept in a small LRU cache keyed by (cleaned text, model id, dtype),
// so re-rendering with the same prompt and negative prompt skips the 5.7B-parameter encoder.
// No <torch/torch.h> here.

#include <cstddef>
#include <filesystem>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <torch/types.h>

#include "models/base/cancel.h"
#include "models/t5/tokenizer.h"

namespace s2v::t5 {

class UMT5EncoderImpl;

struct PromptKey {
  std::string text;      // the cleaned prompt
  std::string model_id;  // which checkpoint (e.g. its path)
  std::string dtype;     // c10::toString of the weights dtype: "Float", "BFloat16", ...
  bool operator==(const PromptKey& o) const {
    return std::tie(text, model_id, dtype) == std::tie(o.text, o.model_id, o.dtype);
  }
};

// A least-recently-used map PromptKey -> context [L, dim]. Thread-safe.
class PromptCache {
 public:
  explicit PromptCache(size_t capacity = 16) : capacity_(capacity) {}
  std::optional<torch::Tensor> find(const PromptKey& key);  // marks the entry most recent
  void insert(const PromptKey& key, torch::Tensor value);   // evicts the least recent when full
  size_t size() const;
  size_t capacity() const { return capacity_; }
  void clear();

 private:
  mutable std::mutex mutex_;
  size_t capacity_;
  std::list<std::pair<PromptKey, torch::Tensor>> entries_;  // most recent first
};

class TextEncoder {
 public:
  // model: a loaded encoder (weights in place); model_id names it in cache keys.
  TextEncoder(std::shared_ptr<UMT5EncoderImpl> model, Tokenizer tokenizer, std::string model_id,
              size_t cache_capacity = 16);

  // -> one context [n_valid_i, dim] per prompt (tokens + EOS), on the model's device and dtype.
  // `cancel` reaches the encoder's blocks (s2v::Cancelled).
  std::vector<torch::Tensor> encode(const std::vector<std::string>& prompts,
                                    const CancelToken& cancel = CancelToken::none());
  torch::Tensor encode(const std::string& prompt);

  const Tokenizer& tokenizer() const { return tokenizer_; }
  PromptCache& cache() { return cache_; }
  UMT5EncoderImpl& model() { return *model_; }

 private:
  std::shared_ptr<UMT5EncoderImpl> model_;
  Tokenizer tokenizer_;
  std::string model_id_;
  PromptCache cache_;
};

}  // namespace s2v::t5
