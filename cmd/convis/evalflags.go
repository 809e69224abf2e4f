package main

import (
	"github.com/spf13/pflag"

	"github.com/convis/convis/internal/wordnet"
)

// evalDatasetOptions are the settings the eval commands over a dataset
// share (localization, faithfulness, sanity): the dataset, its concept
// levels and how many of its images, the seed, JSON output, the decoder
// and the prompt index.
type evalDatasetOptions struct {
	Dataset string
	Levels  []string
	Limit   int
	Seed    uint64
	JSON    bool
	Decode  decodeFlags
	Index   indexOptions
}

// addFlags adds their flags; what --concept-level and --seed say differs
// by command.
func (o *evalDatasetOptions) addFlags(f *pflag.FlagSet, levelsUsage, seedUsage string) {
	f.StringSliceVar(&o.Levels, "concept-level", []string{"object"}, levelsUsage)
	f.IntVar(&o.Limit, "limit", 0, "use only the first N images (0: all)")
	f.Uint64Var(&o.Seed, "seed", 0, seedUsage)
	f.BoolVar(&o.JSON, "json", false, "print JSON")
	addDecodeFlags(f, &o.Decode)
	addIndexFlags(f, &o.Index)
}

// evalSampleOptions are those of eval faithfulness and eval sanity: a
// manifest, or a folder of images with -c, and maps made --batch crops
// at a time.
type evalSampleOptions struct {
	evalDatasetOptions
	Concepts []string
	Batch    int
}

func (o *evalSampleOptions) addFlags(f *pflag.FlagSet, seedUsage, batchUsage string) {
	f.StringSliceVarP(&o.Concepts, "concept", "c", nil, "concepts (a folder of images: every image for each)")
	o.evalDatasetOptions.addFlags(f, "concept levels of a manifest: object, parent, ancestor:N (comma-separated)", seedUsage)
	f.IntVar(&o.Batch, "batch", 32, batchUsage)
}

// samples are the dataset's samples (faithSamples).
func (o *evalSampleOptions) samples(g *globalOptions, db *wordnet.DB, h *wordnet.Hierarchy) ([]faithSample, error) {
	return faithSamples(g, db, h, o.Dataset, o.Concepts, o.Levels, o.Limit)
}
