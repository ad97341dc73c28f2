#pragma once
// The umT5 tokenizer: a sentencepiece model (google/umt5-xxl's spiece.model) used the way
// HuggingfaceTokenizer(name, seq_len=text_len, clean='whitespace') in wan/modules/tokenizers.py
// uses the Hugging Face T5 tokenizer: clean the text, encode, append EOS, truncate to text_len
// (EOS kept), pad with the pad id to text_len, and return the attention mask.
//
// Text cleaning follows basic_clean / whitespace_clean of tokenizers.py: ftfy.fix_text (our own
// fix_text below, for the cases prompts contain), HTML-unescape twice (the common named
// entities, decimal and hex character references), strip; then every run of Unicode whitespace
// becomes one space. tests/data/text_clean/ftfy_cases.json holds the (input, ftfy output) table
// it is checked against.
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

// as ftfy.fix_text with its default configuration, for what prompts contain: HTML entities
// (not in a line holding a literal '<'), UTF-8 mojibake read as windows-1252 / latin-1 (also
// twice over), C1 controls, Latin ligatures, fullwidth and halfwidth forms, curly quotes, line
// breaks, terminal escapes and control characters. Not done: NFC composition (the tokenizer's
// nmt_nfkc normalisation composes before it makes ids) and ftfy's rarer mojibake (other code
// pages, lost 0xA0 bytes, '?'-damaged sequences).
std::string fix_text(const std::string& text);
// as basic_clean: fix_text, HTML unescape (twice), strip
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
