#include "models/t5/tokenizer.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>
#include <unordered_map>

#include "models/base/error.h"

#include <utility>

namespace s2v::t5 {

namespace {

void append_utf8(std::string& out, uint32_t cp) {
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0) cp = 0xFFFD;  // as html.unescape
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// One pass of html.unescape over the entities prompts realistically contain.
std::string html_unescape(const std::string& s) {
  static const std::unordered_map<std::string, uint32_t> named = {
      {"amp", '&'},     {"lt", '<'},       {"gt", '>'},       {"quot", '"'},
      {"apos", '\''},   {"nbsp", 0xA0},    {"copy", 0xA9},    {"reg", 0xAE},
      {"trade", 0x2122}, {"hellip", 0x2026}, {"mdash", 0x2014}, {"ndash", 0x2013},
      {"lsquo", 0x2018}, {"rsquo", 0x2019}, {"ldquo", 0x201C}, {"rdquo", 0x201D},
      {"laquo", 0xAB},  {"raquo", 0xBB},   {"deg", 0xB0},     {"middot", 0xB7},
      {"times", 0xD7},  {"eacute", 0xE9},  {"egrave", 0xE8},  {"agrave", 0xE0},
      {"ccedil", 0xE7}, {"uuml", 0xFC},    {"ouml", 0xF6},    {"auml", 0xE4},
      {"szlig", 0xDF},  {"euro", 0x20AC},  {"pound", 0xA3},   {"yen", 0xA5},
  };
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    if (s[i] != '&') {
      out += s[i++];
      continue;
    }
    const size_t semi = s.find(';', i + 1);
    if (semi != std::string::npos && semi - i <= 32) {
      const std::string ent = s.substr(i + 1, semi - i - 1);
      if (ent.size() >= 2 && ent[0] == '#') {
        const bool hex = ent[1] == 'x' || ent[1] == 'X';
        const std::string digits = ent.substr(hex ? 2 : 1);
        char* end = nullptr;
        const unsigned long cp = digits.empty() ? 0 : std::strtoul(digits.c_str(), &end, hex ? 16 : 10);
        if (!digits.empty() && end && *end == '\0') {
          append_utf8(out, static_cast<uint32_t>(cp));
          i = semi + 1;
          continue;
        }
      } else if (auto it = named.find(ent); it != named.end()) {
        append_utf8(out, it->second);
        i = semi + 1;
        continue;
      }
    }
    out += s[i++];
  }
  return out;
}

// Length in bytes of the whitespace character at s[i] (as Python's str.isspace / regex \s), or 0.
size_t whitespace_at(const std::string& s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F)) return 1;
  auto byte = [&](size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0; };
  if (c == 0xC2 && (byte(1) == 0x85 || byte(1) == 0xA0)) return 2;          // U+0085, U+00A0
  if (c == 0xE1 && byte(1) == 0x9A && byte(2) == 0x80) return 3;            // U+1680
  if (c == 0xE2 && byte(1) == 0x80 &&
      ((byte(2) >= 0x80 && byte(2) <= 0x8A) || byte(2) == 0xA8 || byte(2) == 0xA9 ||
       byte(2) == 0xAF))
    return 3;                                                                 // U+2000-200A, 2028/9, 202F
  if (c == 0xE2 && byte(1) == 0x81 && byte(2) == 0x9F) return 3;            // U+205F
  if (c == 0xE3 && byte(1) == 0x80 && byte(2) == 0x80) return 3;            // U+3000
  return 0;
}

std::string strip(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e) {
    const size_t n = whitespace_at(s, b);
    if (!n) break;
    b += n;
  }
  // trailing: scan forward remembering the end of the last non-space character
  size_t last = b;
  for (size_t i = b; i < e;) {
    const size_t n = whitespace_at(s, i);
    if (n) {
      i += n;
    } else {
      ++i;
      last = i;
    }
  }
  return s.substr(b, last - b);
}

}  // namespace

std::string basic_clean(const std::string& text) {
  return strip(html_unescape(html_unescape(text)));
}

std::string whitespace_clean(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (const size_t n = whitespace_at(text, i)) {
      while (i < text.size()) {
        const size_t m = whitespace_at(text, i);
        if (!m) break;
        i += m;
      }
      out += ' ';
    } else {
      out += text[i++];
    }
  }
  return strip(out);
}

std::string clean_prompt(const std::string& text) { return whitespace_clean(basic_clean(text)); }

namespace {

// The C interface of sentencepiece_shim.cpp.
struct SpmModule {
  void* (*load)(const char*, char**) = nullptr;
  void (*destroy)(void*) = nullptr;
  void (*free)(void*) = nullptr;
  int (*encode)(void*, const char*, size_t, int**, size_t*, char**) = nullptr;
  int (*query)(void*, int) = nullptr;
  int (*train)(const char*, char**) = nullptr;
};

const SpmModule& spm_module() {
  static SpmModule module;
  static std::string failure;
  static std::once_flag once;
  std::call_once(once, [] {
    std::vector<std::filesystem::path> candidates;
    if (const char* env = std::getenv("S2V_SENTENCEPIECE_MODULE")) candidates.emplace_back(env);
    const char* file = "libs2v_sentencepiece.so";
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) {
      candidates.push_back(exe.parent_path() / file);
      candidates.push_back(exe.parent_path() / ".." / "lib" / "s2v-studio" / file);
    }
#ifdef S2V_SENTENCEPIECE_MODULE_PATH
    candidates.emplace_back(S2V_SENTENCEPIECE_MODULE_PATH);
#endif
    void* h = nullptr;
    std::string tried;
    for (const auto& c : candidates) {
      if (!std::filesystem::exists(c, ec)) {
        tried += (tried.empty() ? "" : ", ") + c.string();
        continue;
      }
      h = dlopen(c.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
      if (h) break;
      const char* e = dlerror();
      tried += (tried.empty() ? "" : ", ") + c.string() + " (" + (e ? e : "?") + ")";
    }
    if (!h) {
      failure = "cannot load the sentencepiece module (tried: " + tried + ")";
      return;
    }
    auto sym = [&](const char* name) { return dlsym(h, name); };
    module.load = reinterpret_cast<decltype(module.load)>(sym("s2v_spm_load"));
    module.destroy = reinterpret_cast<decltype(module.destroy)>(sym("s2v_spm_destroy"));
    module.free = reinterpret_cast<decltype(module.free)>(sym("s2v_spm_free"));
    module.encode = reinterpret_cast<decltype(module.encode)>(sym("s2v_spm_encode"));
    module.query = reinterpret_cast<decltype(module.query)>(sym("s2v_spm_query"));
    module.train = reinterpret_cast<decltype(module.train)>(sym("s2v_spm_train"));
    if (!module.load || !module.destroy || !module.free || !module.encode || !module.query ||
        !module.train) {
      module = SpmModule{};
      failure = "the sentencepiece module lacks the s2v_spm_* functions";
    }
  });
  if (!module.load) throw Error(failure, ErrorKind::NotFound);
  return module;
}

std::string take_message(const SpmModule& m, char* msg) {
  std::string s = msg ? msg : "unknown error";
  if (msg) m.free(msg);
  return s;
}

}  // namespace

void train_sentencepiece(const std::string& flags) {
  const auto& m = spm_module();
  char* err = nullptr;
  if (m.train(flags.c_str(), &err) != 0)
    throw Error("cannot train a sentencepiece model: " + take_message(m, err),
                ErrorKind::InvalidArgument);
}

Tokenizer::Tokenizer(const std::filesystem::path& model, int64_t text_len)
    : path_(model), text_len_(text_len) {
  std::error_code ec;
  if (std::filesystem::is_directory(path_, ec)) path_ /= "spiece.model";
  if (!std::filesystem::exists(path_, ec))
    throw Error("cannot load the tokenizer: '" + path_.string() + "' does not exist",
                ErrorKind::NotFound, path_.string());
  if (text_len_ < 1)
    throw Error("invalid text length " + std::to_string(text_len_) + " for the tokenizer",
                ErrorKind::InvalidArgument);
  const auto& m = spm_module();
  char* err = nullptr;
  sp_ = m.load(path_.c_str(), &err);
  if (!sp_)
    throw Error("cannot load the sentencepiece model '" + path_.string() + "': " +
                    take_message(m, err),
                ErrorKind::Corrupt, path_.string());
  // umT5: pad 0, eos 1, unk 2 (the HF tokenizer's special tokens map onto these pieces)
  if (m.query(sp_, 1) >= 0) eos_id_ = m.query(sp_, 1);
  if (m.query(sp_, 2) >= 0) pad_id_ = m.query(sp_, 2);
}

Tokenizer::~Tokenizer() {
  if (sp_) spm_module().destroy(sp_);
}

Tokenizer::Tokenizer(Tokenizer&& o) noexcept
    : path_(std::move(o.path_)), sp_(std::exchange(o.sp_, nullptr)), text_len_(o.text_len_),
      eos_id_(o.eos_id_), pad_id_(o.pad_id_) {}

Tokenizer& Tokenizer::operator=(Tokenizer&& o) noexcept {
  if (this != &o) {
    if (sp_) spm_module().destroy(sp_);
    path_ = std::move(o.path_);
    sp_ = std::exchange(o.sp_, nullptr);
    text_len_ = o.text_len_;
    eos_id_ = o.eos_id_;
    pad_id_ = o.pad_id_;
  }
  return *this;
}

int64_t Tokenizer::vocab_size() const { return spm_module().query(sp_, 0); }

std::vector<int64_t> Tokenizer::encode_raw(const std::string& text) const {
  const auto& m = spm_module();
  int* ids = nullptr;
  size_t n = 0;
  char* err = nullptr;
  if (m.encode(sp_, text.data(), text.size(), &ids, &n, &err) != 0)
    throw Error("cannot tokenize the prompt with '" + path_.string() + "': " + take_message(m, err),
                ErrorKind::InvalidArgument, path_.string());
  std::vector<int64_t> out(ids, ids + n);
  m.free(ids);
  return out;
}

TokenizedText Tokenizer::operator()(const std::string& text) const {
  // as HuggingfaceTokenizer.__call__ with padding='max_length', truncation=True,
  // add_special_tokens=True: tokens truncated to text_len - 1, then EOS, then padding
  auto tokens = encode_raw(clean_prompt(text));
  if (static_cast<int64_t>(tokens.size()) > text_len_ - 1) tokens.resize(text_len_ - 1);
  tokens.push_back(eos_id_);
  TokenizedText t;
  t.length = static_cast<int64_t>(tokens.size());
  t.ids = std::move(tokens);
  t.mask.assign(t.length, 1);
  t.ids.resize(text_len_, pad_id_);
  t.mask.resize(text_len_, 0);
  return t;
}

}  // namespace s2v::t5
