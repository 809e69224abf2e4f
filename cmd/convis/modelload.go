package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/convis/convis/internal/clip"
	"github.com/convis/convis/internal/clip/ort"
	"github.com/convis/convis/models"
)

// cacheDir is --cache-dir or the user cache directory's convis folder.
func cacheDir(g *globalOptions) (string, error) {
	if g.CacheDir != "" {
		return g.CacheDir, nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no user cache directory (%v); pass --cache-dir", err)
	}
	return filepath.Join(base, "convis"), nil
}

// resolveModelDir finds the model directory of --model: a folder, an
// installed model's name, or (empty) the built-in demo model.
func resolveModelDir(g *globalOptions) (string, error) {
	if g.Model == "" {
		cache, err := cacheDir(g)
		if err != nil {
			return "", err
		}
		store := filepath.Join(cache, "models")
		_, statErr := os.Stat(filepath.Join(models.BuiltinDir(store), "convis-model.json"))
		dir, fresh, err := models.ExtractBuiltin(store)
		if err != nil {
			return "", err
		}
		if fresh && statErr == nil {
			g.Log.Warn("the copy of the built-in model differed from the model built into convis (damaged or edited); extracted it again", "dir", dir)
		}
		if !g.builtinNoted {
			g.builtinNoted = true
			g.note("convis: using the built-in demo model %s, which knows only %d emoji objects; for real images pass --model with a CLIP ONNX folder or run `convis model pull clip-vit-base-patch32`", models.BuiltinName, models.BuiltinObjects())
		}
		if fresh {
			g.Log.Debug("extracted built-in model", "dir", dir)
		}
		return dir, nil
	}
	if st, err := os.Stat(g.Model); err == nil && st.IsDir() {
		return g.Model, nil
	}
	if !strings.HasPrefix(g.Model, "hf:") && (strings.ContainsAny(g.Model, `/\`) || strings.HasPrefix(g.Model, ".")) {
		return "", &clip.ModelError{Path: g.Model, Msg: "no such directory"}
	}
	cache, err := cacheDir(g)
	if err != nil {
		return "", err
	}
	return models.InstalledDir(filepath.Join(cache, "models"), g.Model)
}

// openModelDir resolves and checks --model.
func openModelDir(g *globalOptions) (*clip.ModelDir, error) {
	path, err := resolveModelDir(g)
	if err != nil {
		return nil, err
	}
	dir, err := clip.OpenModelDir(path, g.Variant)
	if err != nil {
		return nil, err
	}
	dir.ImageOutput, dir.TextOutput = g.ImageOutput, g.TextOutput
	if cache, err := cacheDir(g); err == nil {
		dir.HashCache = filepath.Join(cache, "model-hashes.json")
	}
	return dir, nil
}

// runtimeLoader loads ONNX Runtime; tests replace it with fakes.
var runtimeLoader = func(g *globalOptions) (clip.Runtime, error) {
	return ort.Load(g.OrtLib, g.Threads)
}

// loadModel opens --model with ONNX Runtime.
func loadModel(g *globalOptions) (*clip.Model, error) { return loadModelWith(g, clip.LoadModel) }

// loadModelLazily is loadModel with the encoders opened on first use: an
// explain whose embeddings are all cached never opens them.
func loadModelLazily(g *globalOptions) (*clip.Model, error) {
	return loadModelWith(g, clip.LoadModelLazily)
}

func loadModelWith(g *globalOptions, load func(*clip.ModelDir, clip.Runtime) (*clip.Model, error)) (*clip.Model, error) {
	dir, err := openModelDir(g)
	if err != nil {
		return nil, err
	}
	rt, err := runtimeLoader(g)
	if err != nil {
		return nil, err
	}
	return load(dir, rt)
}
