// A C interface over libsentencepiece, built as its own loadable module (s2v_sentencepiece.so)
// and opened by tokenizer.cpp with dlopen(RTLD_LOCAL | RTLD_DEEPBIND).
//
// Why: Debian's libsentencepiece carries its own copy of protobuf-lite and exports its symbols,
// while LibTorch loads the system libprotobuf. Linked into one executable, libprotobuf's static
// initialisers bind to sentencepiece's copy and crash before main(). Kept in a local, deep-bound
// scope, each library only ever sees its own protobuf.

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

char* copy_message(const std::string& s) {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (p) std::memcpy(p, s.c_str(), s.size() + 1);
  return p;
}

}  // namespace

extern "C" {

// Returns a processor or null; on failure *error receives a malloc'd message (free with s2v_spm_free).
__attribute__((visibility("default"))) void* s2v_spm_load(const char* path, char** error) {
  auto* sp = new sentencepiece::SentencePieceProcessor();
  const auto status = sp->Load(path);
  if (!status.ok()) {
    if (error) *error = copy_message(status.ToString());
    delete sp;
    return nullptr;
  }
  return sp;
}

__attribute__((visibility("default"))) void s2v_spm_destroy(void* sp) {
  delete static_cast<sentencepiece::SentencePieceProcessor*>(sp);
}

__attribute__((visibility("default"))) void s2v_spm_free(void* p) { std::free(p); }

// ids: malloc'd array of *count ints (free with s2v_spm_free). Returns 0 on success.
__attribute__((visibility("default"))) int s2v_spm_encode(void* sp, const char* text, size_t len,
                                                          int** ids, size_t* count, char** error) {
  std::vector<int> out;
  const auto status = static_cast<sentencepiece::SentencePieceProcessor*>(sp)->Encode(
      std::string_view(text, len), &out);
  if (!status.ok()) {
    if (error) *error = copy_message(status.ToString());
    return 1;
  }
  *count = out.size();
  *ids = static_cast<int*>(std::malloc(sizeof(int) * (out.empty() ? 1 : out.size())));
  if (!*ids) return 1;
  std::memcpy(*ids, out.data(), sizeof(int) * out.size());
  return 0;
}

// which: 0 = piece count, 1 = eos id, 2 = pad id, 3 = unk id, 4 = bos id
__attribute__((visibility("default"))) int s2v_spm_query(void* sp, int which) {
  auto* p = static_cast<sentencepiece::SentencePieceProcessor*>(sp);
  switch (which) {
    case 0: return p->GetPieceSize();
    case 1: return p->eos_id();
    case 2: return p->pad_id();
    case 3: return p->unk_id();
    case 4: return p->bos_id();
  }
  return -1;
}

// Trains a model with sentencepiece_trainer's flag string (used by tests). Returns 0 on success.
__attribute__((visibility("default"))) int s2v_spm_train(const char* args, char** error) {
  const auto status = sentencepiece::SentencePieceTrainer::Train(args);
  if (!status.ok()) {
    if (error) *error = copy_message(status.ToString());
    return 1;
  }
  return 0;
}

}  // extern "C"
