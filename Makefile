# convis — see README.md. `make help` lists the targets.
SHELL := /bin/bash
GO ?= go
PY ?= /usr/bin/python3
ORT_VERSION ?= 1.24.3
ORT_DIR := .ort
ORT_LIB := $(ORT_DIR)/libonnxruntime.so.1
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
export CONVIS_ORT_LIB ?= $(CURDIR)/$(ORT_LIB)

NLTK_DATA ?= /tmp/convis-nltk_data
TINY := models/convis-tiny/train
TORCH_ENV := OPENBLAS_NUM_THREADS=1 NLTK_DATA=$(NLTK_DATA)

.PHONY: export families help build test test-long test-cluster fuzz ood peers faithfulness sanity ort bench demo wordnet fixture train-tiny scenes parity vitb32 python-deps clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

build: ort ## build bin/convis (with ONNX Runtime next to it)
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/convis ./cmd/convis
	cp -f $(ORT_LIB) bin/

ort: $(ORT_LIB) ## fetch the ONNX Runtime CPU library (npm pack onnxruntime-node, no install script)

$(ORT_LIB):
	@mkdir -p $(ORT_DIR)/pack
	cd $(ORT_DIR)/pack && npm pack --silent onnxruntime-node@$(ORT_VERSION) >/dev/null
	tar -xzf $(ORT_DIR)/pack/onnxruntime-node-$(ORT_VERSION).tgz -C $(ORT_DIR)/pack package/bin/napi-v6/linux/x64/libonnxruntime.so.1 package/package.json
	mv $(ORT_DIR)/pack/package/bin/napi-v6/linux/x64/libonnxruntime.so.1 $(ORT_LIB).tmp
	mv $(ORT_DIR)/pack/package/package.json $(ORT_DIR)/package.json  # licence: MIT (see "license")
	rm -rf $(ORT_DIR)/pack
	mv $(ORT_LIB).tmp $(ORT_LIB)
	@echo "ONNX Runtime $(ORT_VERSION) in $(ORT_LIB)"

# make test is the quick suite (-short: the long, benchmark-like tests are
# skipped and say so); make test-long runs everything. CI runs both. The
# explicit -timeout keeps a hung test from eating CI's 90 minutes.
TEST_TIMEOUT ?= 10m
LONG_TEST_TIMEOUT ?= 20m

test: ort ## run the quick test suite (vet, then go test -short; the last line is the summary)
	$(GO) vet ./...
	@mkdir -p build
	@$(GO) test -short -v -count=1 -timeout $(TEST_TIMEOUT) ./... > build/test.log 2>&1; rc=$$?; \
	  if [ $$rc -ne 0 ]; then cat build/test.log; else grep -E '^(ok|FAIL|\?) ' build/test.log; fi; \
	  awk '/^--- PASS/{p++} /^--- FAIL/{f++} /^--- SKIP/{s++} END{printf "%d passed, %d failed, %d skipped\n", p, f, s}' build/test.log; \
	  exit $$rc

test-long: ort ## run every test, the long ones included (CI runs it beside make test)
	@mkdir -p build
	@$(GO) test -v -count=1 -timeout $(LONG_TEST_TIMEOUT) ./... > build/test-long.log 2>&1; rc=$$?; \
	  if [ $$rc -ne 0 ]; then cat build/test-long.log; else grep -E '^(ok|FAIL|\?) ' build/test-long.log; fi; \
	  awk '/^--- PASS/{p++} /^--- FAIL/{f++} /^--- SKIP/{s++} END{printf "long suite: %d passed, %d failed, %d skipped\n", p, f, s}' build/test-long.log; \
	  exit $$rc

test-cluster: ort ## submit docs/convis-array.sbatch to a real one-node Slurm (needs slurmctld slurmd slurm-client munge)
	@mkdir -p build
	@CONVIS_CLUSTER_TEST=1 $(GO) test -v -count=1 -run '^TestSlurmArray$$' ./cmd/convis > build/test-cluster.log 2>&1; rc=$$?; \
	  grep -E '^(=== RUN|--- |\s+cluster_test|ok|FAIL)' build/test-cluster.log; [ $$rc -eq 0 ] || cat build/test-cluster.log; \
	  awk '/^--- PASS/{p++} /^--- FAIL/{f++} /^--- SKIP/{s++} END{printf "%d passed, %d failed, %d skipped\n", p, f, s}' build/test-cluster.log; \
	  exit $$rc

OOD_PAIRS := fruit-instrument:edible_fruit.n.01 garment-furniture:garment.n.01 bird-mammal:bird.n.01 building-vehicle:building.n.01

ood: build ## the out-of-distribution experiment on generated scenes: build/ood, results in docs/ood/*.json (docs/ood.md)
	@dpkg -s python3-pil python3-numpy python3-nltk wordnet-base >/dev/null 2>&1 || \
	  (apt-get update -qq && apt-get install -y -qq python3-pil python3-numpy python3-nltk wordnet-base)
	@[ -f $(NLTK_DATA)/corpora/wordnet/lexnames ] || scripts/nltk_wordnet_dir.sh $(NLTK_DATA) >/dev/null
	NLTK_DATA=$(NLTK_DATA) $(PY) -W ignore scripts/make_ood_scenes.py build/ood 40
	@mkdir -p docs/ood
	@for p in $(OOD_PAIRS); do n=$${p%%:*}; c=$${p##*:}; \
	  bin/convis eval ood --in build/ood/$$n/in --ood build/ood/$$n/ood --concept $$c --log-level error --json > docs/ood/$$n.json || exit 1; \
	  bin/convis eval ood --in build/ood/$$n/in --ood build/ood/$$n/ood --concept $$c --log-level error; done

PEERS_SCENES ?= 100
PEER_SRC ?= build/peer-src

peers: build ## ConVis against pytorch-grad-cam's methods on convis-tiny (needs PyTorch and pytorch-grad-cam; docs/peers.md)
	@dpkg -s python3-torch python3-torchvision python3-opencv python3-sklearn python3-scipy python3-matplotlib python3-tqdm python3-nltk wordnet-base libopenblas0-pthread >/dev/null 2>&1 || \
	  (apt-get update -qq && apt-get install -y -qq python3-torch python3-torchvision python3-opencv python3-sklearn python3-scipy python3-matplotlib python3-tqdm python3-nltk wordnet-base libopenblas0-pthread)
	@[ -f $(NLTK_DATA)/corpora/wordnet/lexnames ] || scripts/nltk_wordnet_dir.sh $(NLTK_DATA) >/dev/null
	OPENBLAS_NUM_THREADS=2 NLTK_DATA=$(NLTK_DATA) PYTHONPATH=$(PEER_SRC) $(PY) -W ignore scripts/peers.py --scenes $(PEERS_SCENES) --out build/peers
	bin/convis eval localization testdata/scenes --limit $(PEERS_SCENES) --concept-level object,parent \
	  --method grid,stochastic,occlusion,center $$(for d in build/peers/*/; do printf -- '--maps %s ' "$$d"; done) --json > docs/peers-$(PEERS_SCENES)-scenes.json
	cp build/peers/timing.json docs/peers-timing.json
	@jq -r '.results[] | [.concept_level, .method, (.pointing_game.mean*1000|round/1000), (.maxboxacc.mean*1000|round/1000), (.iou.mean*1000|round/1000)] | @tsv' docs/peers-$(PEERS_SCENES)-scenes.json

FAITH_SCENES ?= 100
FAITH_STEPS ?= 20
FAITH_FILL ?= noise
FAITH_PEERS ?= gradcam-stem-def gradcam++-stem-lemma layercam-stem-lemma scorecam-stem-lemma eigencam-stem-def

faithfulness: build ## deletion/insertion AUC and average drop of every method and the peers (after make peers) on the benchmark scenes (docs/faithfulness.md)
	nice -n 10 bin/convis eval faithfulness testdata/scenes --limit $(FAITH_SCENES) --concept-level object,parent --steps $(FAITH_STEPS) --fill $(FAITH_FILL) \
	  $$(for p in $(FAITH_PEERS); do [ -d build/peers/$$p ] && printf -- '--maps build/peers/%s ' "$$p"; done) --log-level error --json > docs/faithfulness-$(FAITH_SCENES)-scenes.json
	$(PY) scripts/plot_faithfulness.py curves docs/faithfulness-curves.png docs/faithfulness-$(FAITH_SCENES)-scenes.json
	@jq -r '.results[] | [.concept_level, .method, (.deletion_auc.value*1000|round/1000), (.insertion_auc.value*1000|round/1000)] | @tsv' docs/faithfulness-$(FAITH_SCENES)-scenes.json

SANITY_SCENES ?= 20
SANITY_BLOCKS := 0 1 2 3 4

sanity: build python-deps ## cascading randomisation of convis-tiny's vision blocks and shuffled prompts: ConVis, occlusion and Grad-CAM/LayerCAM (needs pytorch-grad-cam in PEER_SRC, as make peers; docs/faithfulness.md)
	@dpkg -s python3-torchvision python3-opencv python3-sklearn python3-scipy python3-matplotlib python3-tqdm >/dev/null 2>&1 || \
	  (apt-get update -qq && apt-get install -y -qq python3-torchvision python3-opencv python3-sklearn python3-scipy python3-matplotlib python3-tqdm)
	@for k in $(SANITY_BLOCKS); do $(TORCH_ENV) $(PY) scripts/randomize_vision.py --model models/convis-tiny/model --blocks $$k --seed 0 \
	  --out build/sanity/k$$k --pt models/convis-tiny/convis-tiny.pt || exit 1; done
	@for k in $(SANITY_BLOCKS); do $(TORCH_ENV) PYTHONPATH=$(PEER_SRC) $(PY) -W ignore scripts/peers.py --checkpoint build/sanity/k$$k/model.pt \
	  --scenes $(SANITY_SCENES) --methods gradcam,layercam --layers stem --targets def --out build/sanity/peers/k$$k || exit 1; done
	nice -n 10 bin/convis eval sanity testdata/scenes --limit $(SANITY_SCENES) --copies build/sanity --tool "$(PY) scripts/randomize_vision.py" \
	  --peer-maps build/sanity/peers --log-level error --json > docs/sanity-$(SANITY_SCENES)-scenes.json
	$(PY) scripts/plot_faithfulness.py sanity docs/sanity.png docs/sanity-$(SANITY_SCENES)-scenes.json

FUZZTIME ?= 1m
FUZZ_TARGETS := ./internal/clip:FuzzDecodeImage ./internal/clip:FuzzTokenize ./internal/wordnet:FuzzResolve \
  ./internal/render:FuzzDecodeNPY ./internal/pipeline:FuzzReaders ./cmd/convis:FuzzManifest

fuzz: ## run every fuzz target for FUZZTIME each (default 1m); make test runs their seed corpora
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; fn=$${t##*:}; \
	  echo "== $$fn ($$pkg, $(FUZZTIME))"; \
	  $(GO) test $$pkg -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) -parallel $${FUZZ_PARALLEL:-2} || exit 1; \
	done

bench: build ## performance ratios on this machine (built-in model; ViT-B/32-sized with BENCH_VITB32=1)
	$(GO) test -run '^$$' -bench . -benchtime 5x ./internal/...
	$(GO) run ./cmd/convis-bench
	@if [ -n "$$BENCH_VITB32" ]; then $(MAKE) vitb32 && $(GO) run ./cmd/convis-bench -model build/vitb32 -reps 1 -index-prompts 512 -batch-images 0; fi

OPEN_CLIP_SRC ?= /tmp/oc/src
OPEN_CLIP_PATH := $(OPEN_CLIP_SRC):$(dir $(OPEN_CLIP_SRC))stubs

export: build python-deps ## export your checkpoint: CKPT=HF_FOLDER [OUT=…], or CKPT=open_clip.pt OPEN_CLIP=NAME_OR_CONFIG [TOKENIZER=DIR] (README "Bring your own model")
	@[ -n "$(CKPT)" ] || { echo "make export: set CKPT to a Hugging Face CLIP/SigLIP folder or an open_clip checkpoint (with OPEN_CLIP=…)"; exit 2; }
	$(TORCH_ENV) PYTHONPATH=$(OPEN_CLIP_PATH) $(PY) -W ignore scripts/export_onnx.py --convis bin/convis --out $(or $(OUT),build/export/$(notdir $(basename $(CKPT)))) \
	  $(if $(OPEN_CLIP),--open-clip $(OPEN_CLIP) --checkpoint $(CKPT) $(if $(TOKENIZER),--tokenizer-dir $(TOKENIZER)),--hf $(CKPT))

families: build python-deps ## regenerate testdata/families (one random model per CLIP family; needs open_clip v2.24.0 under OPEN_CLIP_SRC, see the script)
	$(TORCH_ENV) PYTHONPATH=$(OPEN_CLIP_PATH) $(PY) -W ignore scripts/make_family_fixtures.py --convis bin/convis
	$(PY) scripts/make_external_data_fixture.py

vitb32: build/vitb32/onnx/vision_model.onnx ## export a ViT-B/32-sized CLIP with random weights to build/vitb32 (for benchmarks; not committed)

# The export takes about 10 minutes and is deterministic (torch.manual_seed(0)),
# so it reruns only when the script changes or the folder is gone. It writes
# into a temporary folder and renames it, so a killed export leaves nothing
# that looks done.
build/vitb32/onnx/vision_model.onnx: scripts/export_vitb32.py
	@$(MAKE) --no-print-directory python-deps
	rm -rf build/vitb32.tmp
	$(TORCH_ENV) $(PY) scripts/export_vitb32.py build/vitb32.tmp
	rm -rf build/vitb32 && mv build/vitb32.tmp build/vitb32

parity: build python-deps ## compare convis's maps with a plain Python port of the reference on 20 scenes
	$(TORCH_ENV) $(PY) scripts/reference_convis.py --scenes 20

dicom-parity: ## compare convis's DICOM pixels with pydicom's on testdata/dicom (writes docs/dicom-parity.txt)
	@dpkg -s python3-pydicom python3-numpy python3-pil dcmtk >/dev/null 2>&1 || \
	  (apt-get update -qq && apt-get install -y -qq python3-pydicom python3-numpy python3-pil dcmtk)
	$(PY) scripts/dicom-parity.py > docs/dicom-parity.txt
	@tail -1 docs/dicom-parity.txt

python-deps: ## Debian packages for the Python scripts (training, references)
	@dpkg -s python3-torch python3-onnx python3-nltk python3-pil python3-regex wordnet-base fonts-noto-color-emoji libopenblas0-pthread >/dev/null 2>&1 || \
	  (apt-get update -qq && apt-get install -y -qq python3-torch python3-onnx python3-nltk python3-pil python3-regex wordnet-base fonts-noto-color-emoji libopenblas0-pthread)
	@[ -f $(NLTK_DATA)/corpora/wordnet/lexnames ] || scripts/nltk_wordnet_dir.sh $(NLTK_DATA) >/dev/null

tokenizer-parity: ## regenerate internal/clip/testdata/tokenizers; REF= a folder with bert's tokenization.py and gpt-2's src/encoder.py as gpt2_encoder.py (see the script)
	@[ -n "$(REF)" ] || { echo "set REF (scripts/tokenizer_parity.py says how to fetch the two reference files)"; exit 2; }
	@dpkg -s python3-sentencepiece python3-regex python3-six wordnet-base >/dev/null 2>&1 || \
	  (apt-get update -qq && apt-get install -y -qq python3-sentencepiece python3-regex python3-six wordnet-base)
	$(PY) scripts/tokenizer_parity.py --ref $(REF)

train-tiny: python-deps ## train convis-tiny from scratch (CPU, about an hour) and export it to models/convis-tiny/model
	cd $(TINY) && $(TORCH_ENV) $(PY) train.py --out ../../../build/tiny-ckpt
	cd $(TINY) && $(TORCH_ENV) $(PY) export.py ../../../build/tiny-ckpt/final.pt
	cd $(TINY) && $(TORCH_ENV) $(PY) evaluate.py ../../../build/tiny-ckpt/final.pt

scenes: python-deps ## regenerate the held-out benchmark scenes and the demo scene (testdata/scenes, testdata/demo)
	$(TORCH_ENV) $(PY) $(TINY)/make_scenes.py

fixture: python-deps ## regenerate the random test model and its PyTorch reference outputs (testdata/fixture-model)
	$(TORCH_ENV) $(PY) scripts/make_fixture_model.py

demo: build ## explain a bundled scene with the built-in model (writes convis-out/demo and convis-out/demo-versus)
	bin/convis explain testdata/demo/scene.png --concept dog --concept animal --concept vehicle --concept guitar -o convis-out/demo
	bin/convis explain testdata/demo/scene.png --concept dog --versus cat -o convis-out/demo-versus
	@echo "overlays: convis-out/demo/scene.dog.n.01.overlay.png, scene.animal.n.01.overlay.png, scene.vehicle.n.01.overlay.png,"
	@echo "  scene.guitar.n.01.overlay.png (no guitar in the scene: it looks absent, and its box is dashed;"
	@echo "  vehicle does not: WordNet puts bus.n.01 under conveyance, not vehicle, but the model ranks vehicles high here),"
	@echo "  convis-out/demo-versus/scene.dog.n.01.vs.cat.n.01.overlay.png (where it looks like a dog rather than a cat)"

wordnet: ## regenerate the embedded WordNet graph from /usr/share/wordnet
	$(GO) run ./internal/wordnet/wngen -dict /usr/share/wordnet -o internal/wordnet/data/wn30-noun.txt.gz

clean:
	rm -rf bin convis-out
