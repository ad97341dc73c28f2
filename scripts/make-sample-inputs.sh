#!/usr/bin/env bash
# The sample inputs of the Generate workspace and README's main command, made from Debian packages
# (nothing is committed or downloaded): a portrait from a frame of opencv-doc's Megamind.avi (a
# talking character) and a spoken sentence from espeak-ng.
#   scripts/make-sample-inputs.sh OUTDIR  ->  OUTDIR/portrait.png, OUTDIR/speech.wav
set -euo pipefail
out="${1:?usage: make-sample-inputs.sh OUTDIR}"
mkdir -p "$out"
clip=/usr/share/doc/opencv-doc/examples/data/Megamind.avi
if [ ! -f "$out/portrait.png" ]; then
  if [ -f "$clip" ]; then
    # frame at 2 s, the character's head and shoulders (the clip is 720x528)
    ffmpeg -v error -y -ss 2 -i "$clip" -frames:v 1 -vf "crop=400:400:160:20" "$out/portrait.png.part.png"
    mv "$out/portrait.png.part.png" "$out/portrait.png"
  else
    echo "make-sample-inputs: $clip is missing (install opencv-doc)" >&2; exit 1
  fi
fi
if [ ! -f "$out/speech.wav" ]; then
  espeak-ng -s 150 -w "$out/speech.wav.part" \
    "Hello! This is S2V Studio. Give me a portrait and a voice, and I will make them talk."
  mv "$out/speech.wav.part" "$out/speech.wav"
fi
echo "$out"
