#!/usr/bin/env bash
# Lays out Debian's WordNet 3.0 (wordnet-base) as an nltk_data tree so that
# Debian's python3-nltk can read it. NLTK also needs WordNet's standard
# `lexnames` file, which Debian does not ship; it is the fixed list below.
set -euo pipefail
dest=${1:-/tmp/nltk_data}
mkdir -p "$dest/corpora/wordnet"
cp /usr/share/wordnet/{data,index}.{noun,verb,adj,adv} /usr/share/wordnet/{noun,verb,adj,adv}.exc "$dest/corpora/wordnet/"
i=0
for name in adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact noun.attribute \
  noun.body noun.cognition noun.communication noun.event noun.feeling noun.food noun.group \
  noun.location noun.motive noun.object noun.person noun.phenomenon noun.plant noun.possession \
  noun.process noun.quantity noun.relation noun.shape noun.state noun.substance noun.time \
  verb.body verb.change verb.cognition verb.communication verb.competition verb.consumption \
  verb.contact verb.creation verb.emotion verb.motion verb.perception verb.possession \
  verb.social verb.stative verb.weather adj.ppl; do
  case $name in adj.*) pos=3;; adv.*) pos=4;; noun.*) pos=1;; verb.*) pos=2;; esac
  printf '%02d\t%s\t%d\n' $i $name $pos
  i=$((i+1))
done > "$dest/corpora/wordnet/lexnames"
echo "$dest"
