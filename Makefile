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

.PHONY: help build test ort bench demo wordnet check-wordnet fixture train clean

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

test: ort ## run all tests (vet, then go test; the last line is the summary)
	$(GO) vet ./...
	@mkdir -p build
	@$(GO) test -v -count=1 ./... > build/test.log 2>&1; rc=$$?; \
	  if [ $$rc -ne 0 ]; then cat build/test.log; else grep -E '^(ok|FAIL|\?) ' build/test.log; fi; \
	  awk '/^--- PASS/{p++} /^--- FAIL/{f++} /^--- SKIP/{s++} END{printf "%d passed, %d failed, %d skipped\n", p, f, s}' build/test.log; \
	  exit $$rc

bench: ort ## run the benchmarks
	$(GO) test -run '^$$' -bench . -benchtime 3x ./...

demo: build ## explain a bundled scene with the built-in model
	bin/convis explain testdata/demo/scene.png --concept dog --concept animal -o convis-out/demo

wordnet: ## regenerate the embedded WordNet graph from /usr/share/wordnet
	$(GO) run ./internal/wordnet/wngen -dict /usr/share/wordnet -o internal/wordnet/data/wn30-noun.txt.gz

clean:
	rm -rf bin convis-out
