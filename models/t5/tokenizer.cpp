#include "models/t5/tokenizer.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
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

// windows-1252's characters for the bytes 0x80..0x9F (the five undefined ones stay C1 controls).
uint32_t cp1252_char(int byte) {
  static const uint32_t table[32] = {0x20AC, 0x81,   0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
                                     0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8D,   0x017D, 0x8F,
                                     0x90,   0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
                                     0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D,   0x017E, 0x0178};
  return byte >= 0x80 && byte <= 0x9F ? table[byte - 0x80] : static_cast<uint32_t>(byte);
}

// HTML's Latin-1 entity names for U+00A0..U+00FF, in order. With amp, lt, gt and quot (and the
// upper-case AMP, LT, GT, QUOT, COPY, REG) they are the "legacy" names that html.unescape also
// reads without the closing ';'.
constexpr const char* kLatin1Entities[96] = {
    "nbsp",   "iexcl",  "cent",   "pound",  "curren", "yen",    "brvbar", "sect",   "uml",    "copy",   "ordf",
    "laquo",  "not",    "shy",    "reg",    "macr",   "deg",    "plusmn", "sup2",   "sup3",   "acute",  "micro",
    "para",   "middot", "cedil",  "sup1",   "ordm",   "raquo",  "frac14", "frac12", "frac34", "iquest", "Agrave",
    "Aacute", "Acirc",  "Atilde", "Auml",   "Aring",  "AElig",  "Ccedil", "Egrave", "Eacute", "Ecirc",  "Euml",
    "Igrave", "Iacute", "Icirc",  "Iuml",   "ETH",    "Ntilde", "Ograve", "Oacute", "Ocirc",  "Otilde", "Ouml",
    "times",  "Oslash", "Ugrave", "Uacute", "Ucirc",  "Uuml",   "Yacute", "THORN",  "szlig",  "agrave", "aacute",
    "acirc",  "atilde", "auml",   "aring",  "aelig",  "ccedil", "egrave", "eacute", "ecirc",  "euml",   "igrave",
    "iacute", "icirc",  "iuml",   "eth",    "ntilde", "ograve", "oacute", "ocirc",  "otilde", "ouml",   "divide",
    "oslash", "ugrave", "uacute", "ucirc",  "uuml",   "yacute", "thorn",  "yuml"};

const std::unordered_map<std::string, uint32_t>& legacy_entities() {
  static const auto table = [] {
    std::unordered_map<std::string, uint32_t> t = {{"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'},
                                                   {"AMP", '&'}, {"LT", '<'}, {"GT", '>'}, {"QUOT", '"'},
                                                   {"COPY", 0xA9}, {"REG", 0xAE}};
    for (uint32_t i = 0; i < 96; ++i) t.emplace(kLatin1Entities[i], 0xA0 + i);
    return t;
  }();
  return table;
}

// Names html.unescape reads only with their ';': the ones prompts realistically contain.
const std::unordered_map<std::string, uint32_t>& other_entities() {
  static const std::unordered_map<std::string, uint32_t> t = {
      {"apos", '\''},    {"hellip", 0x2026}, {"mdash", 0x2014}, {"ndash", 0x2013}, {"lsquo", 0x2018},
      {"rsquo", 0x2019}, {"ldquo", 0x201C},  {"rdquo", 0x201D}, {"sbquo", 0x201A}, {"bdquo", 0x201E},
      {"trade", 0x2122}, {"euro", 0x20AC},   {"bull", 0x2022},  {"hearts", 0x2665}, {"star", 0x2606},
      {"starf", 0x2605}, {"larr", 0x2190},   {"rarr", 0x2192},  {"uarr", 0x2191},  {"darr", 0x2193},
      {"check", 0x2713}, {"checkmark", 0x2713}, {"dagger", 0x2020}, {"Dagger", 0x2021}, {"permil", 0x2030},
      {"prime", 0x2032}, {"Prime", 0x2033},  {"lsaquo", 0x2039}, {"rsaquo", 0x203A}, {"oelig", 0x153},
      {"OElig", 0x152},  {"scaron", 0x161},  {"Scaron", 0x160}, {"Yuml", 0x178},   {"fnof", 0x192},
      {"circ", 0x2C6},   {"tilde", 0x2DC},   {"ensp", 0x2002},  {"emsp", 0x2003},  {"thinsp", 0x2009},
      {"zwnj", 0x200C},  {"zwj", 0x200D},    {"lrm", 0x200E},   {"rlm", 0x200F},   {"minus", 0x2212},
      {"infin", 0x221E}, {"ne", 0x2260},     {"le", 0x2264},    {"ge", 0x2265},    {"asymp", 0x2248}};
  return t;
}

// One pass of html.unescape (Python's html module) for the entities above and every numeric
// character reference, with its rules: a reference is `&name;`, `&#digits;` or `&#xhex;`, the ';'
// optional for numbers and for the legacy names (then the longest legacy name that prefixes the
// text wins: "&copy2025" -> "©2025"); C1 numbers are read as windows-1252, 0 and surrogates and
// numbers past U+10FFFF become U+FFFD, other control code points vanish.
// strict: only references closed by ';' (what ftfy's unescape_html decodes).
std::string html_unescape(const std::string& s, bool strict = false) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    if (s[i] != '&' || i + 1 >= s.size()) {
      out += s[i++];
      continue;
    }
    if (s[i + 1] == '#') {
      const bool hex = i + 2 < s.size() && (s[i + 2] == 'x' || s[i + 2] == 'X');
      size_t j = i + (hex ? 3 : 2);
      uint64_t cp = 0;
      const size_t first = j;
      while (j < s.size() && (hex ? std::isxdigit(static_cast<unsigned char>(s[j])) : std::isdigit(static_cast<unsigned char>(s[j])))) {
        if (cp <= 0x10FFFF) cp = cp * (hex ? 16 : 10) + static_cast<uint64_t>(std::isdigit(static_cast<unsigned char>(s[j])) ? s[j] - '0' : (std::tolower(s[j]) - 'a' + 10));
        ++j;
      }
      if (j == first || (strict && (j >= s.size() || s[j] != ';'))) {
        out += s[i++];
        continue;
      }
      if (j < s.size() && s[j] == ';') ++j;
      i = j;
      if (cp >= 0x80 && cp <= 0x9F) {
        append_utf8(out, cp1252_char(static_cast<int>(cp)));
      } else if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        append_utf8(out, 0xFFFD);
      } else if (cp == 0x0D) {
        out += '\r';
      } else if ((cp >= 0x1 && cp <= 0x8) || cp == 0xB || (cp >= 0xE && cp <= 0x1F) || cp == 0x7F ||
                 (cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE) {
        // html.unescape drops these
      } else {
        append_utf8(out, static_cast<uint32_t>(cp));
      }
      continue;
    }
    // a name: up to 32 characters that are not whitespace, '<', '&', '#' or ';', then maybe ';'
    size_t j = i + 1;
    while (j < s.size() && j - i - 1 < 32 && !std::strchr("\t\n\f <&#;", s[j])) ++j;
    const std::string name = s.substr(i + 1, j - i - 1);
    const bool semi = j < s.size() && s[j] == ';';
    if (semi) {
      if (auto it = legacy_entities().find(name); it != legacy_entities().end()) {
        append_utf8(out, it->second);
        i = j + 1;
        continue;
      }
      if (auto it = other_entities().find(name); it != other_entities().end()) {
        append_utf8(out, it->second);
        i = j + 1;
        continue;
      }
    }
    if (strict) {
      out += s[i++];
      continue;
    }
    // the longest legacy name that starts the text (at least 2 characters)
    bool done = false;
    for (size_t n = name.size(); n >= 2 && !done; --n) {
      if (auto it = legacy_entities().find(name.substr(0, n)); it != legacy_entities().end()) {
        append_utf8(out, it->second);
        i += 1 + n;
        done = true;
      }
    }
    if (!done) out += s[i++];
  }
  return out;
}

// ---- ftfy.fix_text for the cases prompts contain --------------------------------------------
// Works on code points. The steps and their order follow ftfy's documented defaults
// (TextFixerConfig): unescape_html ("auto": not in a line holding a literal '<'), fix_encoding,
// fix_c1_controls, fix_latin_ligatures, fix_character_width, uncurl_quotes, fix_line_breaks,
// remove_terminal_escapes, remove_control_chars, repeated until nothing changes. Not done: NFC
// composition of decomposed accents (the tokenizer's own nmt_nfkc normalisation composes them
// before the ids are made) and ftfy's rarer mojibake (other code pages than windows-1252 / latin-1,
// spaces standing for lost 0xA0 bytes, '?'-damaged sequences).

std::u32string to_u32(const std::string& s) {
  std::u32string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const int n = c < 0x80 ? 0 : (c >> 5) == 0x6 ? 1 : (c >> 4) == 0xE ? 2 : (c >> 3) == 0x1E ? 3 : -1;
    char32_t cp = n == 0 ? c : n == 1 ? (c & 0x1F) : n == 2 ? (c & 0x0F) : (c & 0x07);
    bool ok = n >= 0 && i + static_cast<size_t>(n) < s.size();
    for (int k = 1; ok && k <= n; ++k) {
      const auto d = static_cast<unsigned char>(s[i + static_cast<size_t>(k)]);
      if ((d & 0xC0) != 0x80) ok = false;
      else cp = (cp << 6) | (d & 0x3F);
    }
    if (!ok) {  // a stray byte or a truncated sequence: U+FFFD, as a strict decoder would
      out += U'\uFFFD';
      ++i;
      continue;
    }
    out += cp;
    i += static_cast<size_t>(n) + 1;
  }
  return out;
}

std::string to_utf8(const std::u32string& s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t c : s) {
    if (c == 0) {
      out += '\0';
      continue;
    }
    append_utf8(out, static_cast<uint32_t>(c));
  }
  return out;
}

// The byte a character stands for in "sloppy" windows-1252 (ftfy's sloppy-windows-1252: the five
// bytes windows-1252 leaves undefined map to the latin-1 control characters), or -1.
int sloppy_1252_byte(char32_t c) {
  if (c < 0x80 || (c >= 0xA0 && c <= 0xFF)) return static_cast<int>(c);
  if (c >= 0x80 && c <= 0x9F) return static_cast<int>(c);
  for (int b = 0x80; b <= 0x9F; ++b)
    if (cp1252_char(b) == c) return b;
  return -1;
}

bool is_continuation_byte(int b) { return b >= 0x80 && b <= 0xBF; }

// Characters that follow a lead character in real text often enough that a two-character
// "sequence" ending in one of them is not taken for mojibake (ftfy's "common" class), unless
// the lead is Â or Ã (Latin-1 text read as windows-1252, by far the most frequent case).
bool common_after_lead(char32_t c) {
  return c == 0xA0 || c == 0xAD || c == 0xB7 || c == 0xB4 || c == 0x2013 || c == 0x2014 || c == 0x2015 ||
         c == 0x2026 || c == 0x2019;
}

// UTF-8 that was decoded as windows-1252 (or latin-1), possibly several times: every run of
// characters whose windows-1252 bytes form one valid multi-byte UTF-8 sequence becomes the
// character it encodes ("cafÃ©" -> "café", "â€œ" -> U+201C, "ðŸ˜‚" -> U+1F602).
std::u32string fix_mojibake(const std::u32string& s) {
  std::u32string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const int lead = s[i] >= 0x80 ? sloppy_1252_byte(s[i]) : -1;
    const size_t n = lead >= 0xC2 && lead <= 0xDF ? 1 : lead >= 0xE0 && lead <= 0xEF ? 2 : lead >= 0xF0 && lead <= 0xF4 ? 3 : 0;
    bool ok = n > 0 && i + n < s.size();
    char32_t cp = static_cast<char32_t>(lead & (n == 1 ? 0x1F : n == 2 ? 0x0F : 0x07));
    for (size_t k = 1; ok && k <= n; ++k) {
      const int b = sloppy_1252_byte(s[i + k]);
      if (!is_continuation_byte(b)) ok = false;
      else cp = (cp << 6) | static_cast<char32_t>(b & 0x3F);
    }
    // no overlong forms, no surrogates, nothing past U+10FFFF
    if (ok && ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF)))
      ok = false;
    if (ok && n == 1 && common_after_lead(s[i + 1]) && s[i] != 0xC2 && s[i] != 0xC3) ok = false;
    if (ok) {
      out += cp;
      i += n + 1;
      continue;
    }
    out += s[i++];
  }
  return out;
}

// ftfy's WIDTH_MAP: the NFKC form of U+FF01..U+FFEF, and U+3000 -> ' '.
void fix_character_width(std::u32string& s) {
  // halfwidth katakana U+FF61..U+FF9F (NFKC), in order
  static const char32_t kana[] = {
      0x3002, 0x300C, 0x300D, 0x3001, 0x30FB, 0x30F2, 0x30A1, 0x30A3, 0x30A5, 0x30A7, 0x30A9, 0x30E3, 0x30E5,
      0x30E7, 0x30C3, 0x30FC, 0x30A2, 0x30A4, 0x30A6, 0x30A8, 0x30AA, 0x30AB, 0x30AD, 0x30AF, 0x30B1, 0x30B3,
      0x30B5, 0x30B7, 0x30B9, 0x30BB, 0x30BD, 0x30BF, 0x30C1, 0x30C4, 0x30C6, 0x30C8, 0x30CA, 0x30CB, 0x30CC,
      0x30CD, 0x30CE, 0x30CF, 0x30D2, 0x30D5, 0x30D8, 0x30DB, 0x30DE, 0x30DF, 0x30E0, 0x30E1, 0x30E2, 0x30E4,
      0x30E6, 0x30E8, 0x30E9, 0x30EA, 0x30EB, 0x30EC, 0x30ED, 0x30EF, 0x30F3, 0x3099, 0x309A};
  static const std::unordered_map<char32_t, char32_t> other = {
      {0x3000, 0x20},   {0xFF5F, 0x2985}, {0xFF60, 0x2986}, {0xFFE0, 0xA2},   {0xFFE1, 0xA3},
      {0xFFE2, 0xAC},   {0xFFE4, 0xA6},   {0xFFE5, 0xA5},   {0xFFE6, 0x20A9}, {0xFFE8, 0x2502},
      {0xFFE9, 0x2190}, {0xFFEA, 0x2191}, {0xFFEB, 0x2192}, {0xFFEC, 0x2193}, {0xFFED, 0x25A0},
      {0xFFEE, 0x25CB}};
  std::u32string out;
  out.reserve(s.size());
  for (char32_t c : s) {
    if (c >= 0xFF01 && c <= 0xFF5E) out += c - 0xFEE0;  // fullwidth ASCII
    else if (c >= 0xFF61 && c <= 0xFF9F) out += kana[c - 0xFF61];
    else if (c == 0xFFE3) out += U"\u0020\u0304";  // FULLWIDTH MACRON: NFKC gives space + macron
    else if (auto it = other.find(c); it != other.end()) out += it->second;
    else out += c;
  }
  s = std::move(out);
}

// html: whether HTML entities may be decoded (fix_text turns it off for good at the first line
// holding a literal '<', as ftfy's "auto" does).
std::u32string fix_text_segment(std::u32string s, bool html) {
  static const std::unordered_map<char32_t, std::u32string> ligatures = {
      {0x0132, U"IJ"}, {0x0133, U"ij"}, {0x0149, U"\u02BCn"}, {0x01F1, U"DZ"}, {0x01F2, U"Dz"},
      {0x01F3, U"dz"}, {0x01C4, U"D\u017D"}, {0x01C5, U"D\u017E"}, {0x01C6, U"d\u017E"}, {0x01C7, U"LJ"},
      {0x01C8, U"Lj"}, {0x01C9, U"lj"}, {0x01CA, U"NJ"}, {0x01CB, U"Nj"}, {0x01CC, U"nj"},
      {0xFB00, U"ff"}, {0xFB01, U"fi"}, {0xFB02, U"fl"}, {0xFB03, U"ffi"}, {0xFB04, U"ffl"},
      {0xFB05, U"\u017Ft"}, {0xFB06, U"st"}};
  for (int round = 0; round < 16; ++round) {
    const std::u32string before = s;
    if (html) s = to_u32(html_unescape(to_utf8(s), /*strict=*/true));
    for (int k = 0; k < 4; ++k) {  // mojibake of mojibake
      auto fixed = fix_mojibake(s);
      if (fixed == s) break;
      s = std::move(fixed);
    }
    std::u32string t;
    t.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
      const char32_t c = s[i];
      // fix_c1_controls: a C1 control left over is its windows-1252 character
      const char32_t d = c >= 0x80 && c <= 0x9F ? cp1252_char(static_cast<int>(c)) : c;
      if (auto it = ligatures.find(d); it != ligatures.end()) t += it->second;
      else t += d;
    }
    fix_character_width(t);
    s.clear();
    for (size_t i = 0; i < t.size(); ++i) {
      char32_t c = t[i];
      // uncurl_quotes
      if (c == 0x02BC || (c >= 0x2018 && c <= 0x201B)) c = U'\'';
      else if (c >= 0x201C && c <= 0x201F) c = U'"';
      // fix_line_breaks: CRLF, CR, U+2028, U+2029, U+0085 -> LF
      if (c == U'\r') {
        if (i + 1 < t.size() && t[i + 1] == U'\n') ++i;
        c = U'\n';
      } else if (c == 0x2028 || c == 0x2029 || c == 0x85) {
        c = U'\n';
      }
      s += c;
    }
    // remove_terminal_escapes: ESC [ (digits | ;)* letter
    t.clear();
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == 0x1B && i + 1 < s.size() && s[i + 1] == U'[') {
        size_t j = i + 2;
        while (j < s.size() && ((s[j] >= U'0' && s[j] <= U'9') || s[j] == U';')) ++j;
        if (j < s.size() && ((s[j] >= U'a' && s[j] <= U'z') || (s[j] >= U'A' && s[j] <= U'Z'))) {
          i = j;
          continue;
        }
      }
      t += s[i];
    }
    // remove_control_chars
    s.clear();
    for (char32_t c : t) {
      const bool control = c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F ||
                           (c >= 0x206A && c <= 0x206F) || c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC);
      if (!control) s += c;
    }
    if (s == before) break;
  }
  return s;
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

std::string fix_text(const std::string& text) {
  // as ftfy.fix_text: each line (up to and including its '\n') is fixed on its own
  const std::u32string all = to_u32(text);
  std::u32string out;
  size_t pos = 0;
  bool html = true;
  while (pos < all.size()) {
    size_t brk = all.find(U'\n', pos);
    brk = brk == std::u32string::npos ? all.size() : brk + 1;
    const std::u32string segment = all.substr(pos, brk - pos);
    if (segment.find(U'<') != std::u32string::npos) html = false;  // "auto": real HTML keeps its entities
    out += fix_text_segment(segment, html);
    pos = brk;
  }
  return to_utf8(out);
}

std::string basic_clean(const std::string& text) {
  return strip(html_unescape(html_unescape(fix_text(text))));
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
