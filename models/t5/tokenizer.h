#pragma once
// The umT5 tokenizer: a sentencepiece model (google/umt5-xxl's spiece.model) used the way
// HuggingfaceTokenizer(name, seq_len=text_len, clean='whitespace') in wan/modules/tokenizers.py
// uses the Hugging Face T5 tokenizer: clean the text, encode, append EOS, truncate to text_len
// (EOS kept), pad with the pad id to text_len, and return the attention mask.
//
// Text cleaning differs from the reference in one documented way: ftfy (which repairs mojibake)
// is not available, so basic_clean here is: HTML-unescape twice (named entities of the common
// set, decimal and hex character references), strip; then whitespace_clean collapses every run
// of Unicode whitespace to one space and strips. Valid UTF-8 text is otherwise left unchanged.
// No LibTorch here: ids are plain vectors (the UI may include this header).
//
// libsentencepiece is reached through a small loadable module (s2v_sentencepiece, see
// sentencepiece_shim.cpp) opened with RTLD_LOCAL | RTLD_DEEPBIND: Debian's libsentencepiece
// bundles protobuf 3.14 and exports it, and linking it beside LibTorch's libprotobuf 3.21 crashes
// every program before main(). The module is looked up in $S2V_SENTENCEPIECE_MODULE, next to the
// executable, in ../lib/s2v-studio/ beside it, and in the build folder.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace s2v::t5 {

// as basic_clean without ftfy: HTML unescape (twice) + strip
std::string basic_clean(const std::string& text);
// as whitespace_clean: runs of whitespace -> ' ', then strip
std::string whitespace_clean(const std::string& text);
// whitespace_clean(basic_clean(text)), the 'whitespace' mode T5EncoderModel uses
std::string clean_prompt(const std::string& text);

struct TokenizedText {
  std::vector<int64_t> ids;   // text_len entries: tokens, EOS, then pad ids
  std::vector<int64_t> mask;  // 1 for tokens and EOS, 0 for padding
  int64_t length = 0;         // number of 1s in mask (tokens + EOS)
};

class Tokenizer {
 public:
  // model: a sentencepiece .model file, or a folder holding spiece.model (the umt5-xxl tokenizer
  // folder). Throws s2v::Error(NotFound / Corrupt) naming the file.
  explicit Tokenizer(const std::filesystem::path& model, int64_t text_len = 512);
  ~Tokenizer();
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;

  // clean, encode, append EOS, truncate to text_len, pad to text_len
  TokenizedText operator()(const std::string& text) const;
  // encode without cleaning, EOS or padding (for tests and display)
  std::vector<int64_t> encode_raw(const std::string& text) const;

  int64_t text_len() const { return text_len_; }
  int64_t eos_id() const { return eos_id_; }
  int64_t pad_id() const { return pad_id_; }
  int64_t vocab_size() const;
  const std::filesystem::path& model_path() const { return path_; }

 private:
  std::filesystem::path path_;
  void* sp_ = nullptr;  // the module's processor handle
  int64_t text_len_;
  int64_t eos_id_ = 1;
  int64_t pad_id_ = 0;
};

// Trains a sentencepiece model with SentencePieceTrainer's flag string ("--input=... --model_prefix=...
// --vocab_size=..."), through the same module. Throws s2v::Error with the trainer's message. For
// tests that need a real model without shipping one.
void train_sentencepiece(const std::string& flags);

}  // namespace s2v::t5
