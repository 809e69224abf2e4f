#!/usr/bin/env python3
"""Renders the emoji sprites and writes the object mapping of convis-tiny.

Input: a TSV of (group, emoji, synset) reviewed by hand. Output:
data/objects.tsv (emoji, codepoints, Unicode name, group, synset, definition)
and data/sprites/<codepoints>.png (RGBA, tight crop of a 109 px glyph of Noto
Color Emoji, Debian fonts-noto-color-emoji, OFL). Needs NLTK_DATA (see
scripts/nltk_wordnet_dir.sh) for definitions.

    NLTK_DATA=/tmp/nltk_data python3 build_objects.py picks.tsv
"""
import os
import sys
import unicodedata

from nltk.corpus import wordnet as wn
from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"
HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data")


def codepoints(e):
    return "-".join("%04x" % ord(c) for c in e if ord(c) != 0xFE0F)


def main(picks):
    font = ImageFont.truetype(FONT, 109)
    rows = []
    for line in open(picks, encoding="utf-8"):
        group, emoji, synset = line.rstrip("\n").split("\t")
        emoji = emoji + "\ufe0f" if len(emoji) == 1 and unicodedata.category(emoji) == "So" and ord(emoji) < 0x1F000 else emoji
        im = Image.new("RGBA", (160, 160), (0, 0, 0, 0))
        ImageDraw.Draw(im).text((16, 16), emoji, font=font, embedded_color=True)
        im = im.crop(im.getbbox())
        cp = codepoints(emoji)
        im.save(os.path.join(DATA, "sprites", cp + ".png"), optimize=True)
        name = " + ".join(unicodedata.name(c, "U+%04X" % ord(c)) for c in emoji if ord(c) != 0xFE0F)
        rows.append((emoji, cp, name, group, synset, wn.synset(synset).definition()))
    with open(os.path.join(DATA, "objects.tsv"), "w", encoding="utf-8") as f:
        f.write("emoji\tcodepoints\tunicode_name\tgroup\tsynset\tdefinition\n")
        for r in rows:
            f.write("\t".join(r) + "\n")
    print(len(rows), "objects")


if __name__ == "__main__":
    main(sys.argv[1])
