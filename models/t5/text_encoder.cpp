#include "models/t5/text_encoder.h"

#include <torch/torch.h>

#include "models/t5/umt5.h"

namespace s2v::t5 {

std::optional<torch::Tensor> PromptCache::find(const PromptKey& key) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->first == key) {
      entries_.splice(entries_.begin(), entries_, it);
      return entries_.front().second;
    }
  }
  return std::nullopt;
}

void PromptCache::insert(const PromptKey& key, torch::Tensor value) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (capacity_ == 0) return;
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->first == key) {
      entries_.erase(it);
      break;
    }
  }
  entries_.emplace_front(key, std::move(value));
  while (entries_.size() > capacity_) entries_.pop_back();
}

size_t PromptCache::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.size();
}

void PromptCache::clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  entries_.clear();
}

TextEncoder::TextEncoder(std::shared_ptr<UMT5EncoderImpl> model, Tokenizer tokenizer,
                         std::string model_id, size_t cache_capacity)
    : model_(std::move(model)), tokenizer_(std::move(tokenizer)), model_id_(std::move(model_id)),
      cache_(cache_capacity) {}

std::vector<torch::Tensor> TextEncoder::encode(const std::vector<std::string>& prompts, const CancelToken& cancel) {
  const auto& w = model_->token_embedding->weight;
  const std::string dtype = c10::toString(w.scalar_type());
  std::vector<torch::Tensor> out(prompts.size());
  std::vector<size_t> todo;
  std::vector<TokenizedText> tokens;
  for (size_t i = 0; i < prompts.size(); ++i) {
    if (auto hit = cache_.find({clean_prompt(prompts[i]), model_id_, dtype})) {
      out[i] = *hit;
    } else {
      todo.push_back(i);
      tokens.push_back(tokenizer_(prompts[i]));
    }
  }
  if (todo.empty()) return out;

  // ids, mask: [B, text_len]
  const int64_t b = static_cast<int64_t>(todo.size()), len = tokenizer_.text_len();
  auto ids = torch::empty({b, len}, torch::kLong);
  auto mask = torch::empty({b, len}, torch::kLong);
  for (int64_t i = 0; i < b; ++i) {
    std::copy(tokens[i].ids.begin(), tokens[i].ids.end(), ids[i].data_ptr<int64_t>());
    std::copy(tokens[i].mask.begin(), tokens[i].mask.end(), mask[i].data_ptr<int64_t>());
  }
  torch::NoGradGuard no_grad;
  auto context = model_->forward(ids.to(w.device()), mask.to(w.device()), cancel);  // [B, L, dim]
  for (int64_t i = 0; i < b; ++i) {
    // as T5EncoderModel.__call__: u[:v] with v = mask.gt(0).sum()
    auto c = context[i].slice(0, 0, tokens[i].length).clone();
    out[todo[i]] = c;
    cache_.insert({clean_prompt(prompts[todo[i]]), model_id_, dtype}, c);
  }
  return out;
}

torch::Tensor TextEncoder::encode(const std::string& prompt) {
  return encode(std::vector<std::string>{prompt}).front();
}

}  // namespace s2v::t5
