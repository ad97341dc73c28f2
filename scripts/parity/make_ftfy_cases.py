#!/usr/bin/python3
"""The (input -> cleaned text) table of the umT5 prompt cleaning (models/t5/tokenizer.cpp).

    python3 scripts/parity/make_ftfy_cases.py FTFY_CHECKOUT tests/data/text_clean/ftfy_cases.json

FTFY_CHECKOUT is a checkout of github.com/rspeer/python-ftfy (the folder holding the `ftfy`
package; the table was made with 6.3.1). Nothing of it is copied: it is imported and run on the
inputs below, which are what real prompts contain (fullwidth punctuation, curly quotes, mojibake,
HTML entities, emoji, ligatures, control characters, line breaks), plus the official negative
prompt of wan/configs/shared_config.py.

For each input the file stores `fix_text` (ftfy.fix_text with its defaults) and `clean`: what
wan/modules/tokenizers.py's HuggingfaceTokenizer(clean='whitespace') feeds the tokenizer, i.e.
whitespace_clean(basic_clean(text)) = re.sub(r'\\s+', ' ', html.unescape(html.unescape(
ftfy.fix_text(text))).strip()).strip(). The C++ test reads the table and needs no Python.
"""

import html
import json
import re
import sys

sys.path.insert(0, sys.argv[1])
import ftfy  # noqa: E402

OFFICIAL_NEGATIVE = (
    "画面模糊，最差质量，画面模糊，细节模糊不清，情绪激动剧烈，手快速抖动，字幕，丑陋的，残缺的，多余的手指，"
    "画得不好的手部，画得不好的脸部，畸形的，毁容的，形态畸形的肢体，手指融合，静止不动的画面，杂乱的背景，"
    "三条腿，背景人很多，倒着走")

CASES = [
    ("plain English", "A woman sings in a warmly lit studio, looking at the camera."),
    ("official negative prompt (Chinese, fullwidth commas)", OFFICIAL_NEGATIVE),
    ("Chinese prompt with fullwidth punctuation", "一位女士在烛光晚餐桌旁开心地说话，看着镜头！（特写）"),
    ("fullwidth Latin and ideographic space", "ＬＯＵＤ　ＮＯＩＳＥＳ：ａ ｍａｎ ｓｈｏｕｔｓ"),
    ("halfwidth katakana", "ｶﾀｶﾅ の テスト"),
    ("curly quotes and apostrophes", "\u201cHello,\u201d she said \u2014 it\u2019s \u2018fine\u2019."),
    ("mojibake: UTF-8 read as windows-1252", "The cafÃ© is â€œopenâ€\x9d and itâ€™s niceâ€¦"),
    ("mojibake: accented words", "SeÃ±ora GarcÃ­a sonrÃ­e en la cÃ¡mara"),
    ("mojibake of mojibake", "The cafÃƒÂ© is open"),
    ("mojibake: emoji", "A man laughing ðŸ˜‚ with friends"),
    ("HTML entities", "Tom &amp; Jerry &quot;dance&quot; &#8220;happily&#8221; &eacute;l&egrave;ve &hellip;"),
    ("HTML entities escaped twice", "rock &amp;amp; roll &amp;quot;live&amp;quot;"),
    ("a literal < keeps ftfy's HTML decoding off", "a < b &amp; c"),
    ("numeric character references", "caf&#233; &#x1F600; &#39;quoted&#39;"),
    ("entities without ';' (html.unescape reads the legacy ones)", "AT&T & co; 5 &lt 6 &copy2025 &notit; &#39x"),
    ("emoji and ZWJ sequences", "A family \U0001F468\u200D\U0001F469\u200D\U0001F467 smiling \U0001F389\U0001F44D"),
    ("Latin ligatures", "\ufb01ne \ufb02owers in the o\ufb03ce"),
    ("C1 controls standing for windows-1252", "\x93quoted\x94 text"),
    ("terminal escapes", "\x1b[31mred\x1b[0m text"),
    ("line breaks and tabs", "line one\r\nline two\u2028three\t\tend  "),
    ("BOM and control characters", "\ufeffHello\x07 World\x00!"),
    ("non-breaking and other spaces", "a\u00a0b\u2009c\u3000d  \u202fe"),
    ("accents that are not mojibake", "Fiancée café naïve résumé Ærø Ødegaard"),
    ("Cyrillic and Greek", "Привет, мир! Καλημέρα κόσμε"),
    ("Japanese with fullwidth punctuation", "女性が歌っている。「こんにちは」！"),
    ("Korean", "한 여자가 노래를 부른다"),
    ("Arabic", "امرأة تغني في الاستوديو"),
    ("mixed symbols", "50% off — 3×4 = 12 ± 0.5 °C © 2025 ™"),
]


def clean(text):
    text = ftfy.fix_text(text)
    text = html.unescape(html.unescape(text)).strip()
    return re.sub(r"\s+", " ", text).strip()


def main():
    out = {
        "made_by": "scripts/parity/make_ftfy_cases.py with ftfy " + ftfy.__version__,
        "reference": "wan/modules/tokenizers.py basic_clean + whitespace_clean (Wan-Video/Wan2.2 @ 42bf4cf)",
        "cases": [{"name": n, "input": t, "fix_text": ftfy.fix_text(t), "clean": clean(t)} for n, t in CASES],
    }
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=True, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
