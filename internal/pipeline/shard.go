package pipeline

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// Shard is one part K of N of a run: the images whose relative path hashes
// to K mod N. The hash (FNV-1a, 64 bits) of the slash-separated relative
// path does not depend on the machine, the file system or the listing
// order, so N processes with K = 0..N-1 cover every image exactly once.
type Shard struct {
	K, N int
}

// Whole is the unsharded run.
var Whole = Shard{0, 1}

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.K, s.N) }

// Sharded reports whether this is a part of a run.
func (s Shard) Sharded() bool { return s.N > 1 }

// Has reports whether a relative path belongs to this shard.
func (s Shard) Has(rel string) bool {
	if s.N <= 1 {
		return true
	}
	h := fnv.New64a()
	h.Write([]byte(rel))
	return h.Sum64()%uint64(s.N) == uint64(s.K)
}

// Select keeps the jobs of this shard, in order.
func (s Shard) Select(jobs []Job) []Job {
	if s.N <= 1 {
		return jobs
	}
	var out []Job
	for _, j := range jobs {
		if s.Has(j.Rel) {
			out = append(out, j)
		}
	}
	return out
}

// ShardError is a --shard value that cannot be used.
type ShardError struct{ Msg string }

func (e *ShardError) Error() string { return "--shard: " + e.Msg }

// ParseShard reads "K/N", or "auto": the task of a Slurm job array
// (SLURM_ARRAY_TASK_ID with SLURM_ARRAY_TASK_COUNT, or with
// SLURM_ARRAY_TASK_MIN and _MAX) or of a Kubernetes Indexed Job
// (JOB_COMPLETION_INDEX with CONVIS_SHARDS). getenv is os.Getenv in use.
func ParseShard(s string, getenv func(string) string) (Shard, error) {
	if s == "" {
		return Whole, nil
	}
	if s == "auto" {
		return autoShard(getenv)
	}
	ks, ns, ok := strings.Cut(s, "/")
	k, err1 := strconv.Atoi(ks)
	n, err2 := strconv.Atoi(ns)
	if !ok || err1 != nil || err2 != nil {
		return Shard{}, &ShardError{fmt.Sprintf("%q: want K/N (such as 0/4) or auto", s)}
	}
	if n < 1 || k < 0 || k >= n {
		return Shard{}, &ShardError{fmt.Sprintf("%q: want 0 ≤ K < N", s)}
	}
	return Shard{k, n}, nil
}

// stepCount is the number of tasks of the array (for the hint).
func stepCount(getenv func(string) string) int {
	n, _ := strconv.Atoi(getenv("SLURM_ARRAY_TASK_COUNT"))
	return n
}

func autoShard(getenv func(string) string) (Shard, error) {
	num := func(name string) (int, bool, error) {
		v := getenv(name)
		if v == "" {
			return 0, false, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, true, &ShardError{fmt.Sprintf("auto: %s=%q is not a number", name, v)}
		}
		return n, true, nil
	}
	if id, ok, err := num("SLURM_ARRAY_TASK_ID"); err != nil {
		return Shard{}, err
	} else if ok {
		// A stepped array (--array=0-6:2) numbers its tasks 0, 2, 4, 6:
		// mapped onto shards, the odd shards would never run, and nothing
		// would say so. Refused, with or without CONVIS_SHARDS.
		if step, okStep, err := num("SLURM_ARRAY_TASK_STEP"); err != nil {
			return Shard{}, err
		} else if okStep && step != 1 {
			return Shard{}, &ShardError{fmt.Sprintf("auto: a stepped Slurm array (SLURM_ARRAY_TASK_STEP=%d) would leave shards unrun; use a contiguous array such as --array=0-%d", step, max(stepCount(getenv)-1, 0))}
		}
		// CONVIS_SHARDS names N outright: the task id is then K, so one
		// task of an array 0..N-1 can be resubmitted alone (--array=K),
		// which Slurm would otherwise number as an array of one.
		if n, okN, err := num("CONVIS_SHARDS"); err != nil {
			return Shard{}, err
		} else if okN {
			if n < 1 || id < 0 || id >= n {
				return Shard{}, &ShardError{fmt.Sprintf("auto: SLURM_ARRAY_TASK_ID=%d is outside CONVIS_SHARDS=%d", id, n)}
			}
			return Shard{id, n}, nil
		}
		lo, okMin, err := num("SLURM_ARRAY_TASK_MIN")
		if err != nil {
			return Shard{}, err
		}
		if !okMin {
			lo = 0
		}
		count, okCount, err := num("SLURM_ARRAY_TASK_COUNT")
		if err != nil {
			return Shard{}, err
		}
		if !okCount {
			hi, okMax, err := num("SLURM_ARRAY_TASK_MAX")
			if err != nil {
				return Shard{}, err
			}
			if !okMax || !okMin {
				return Shard{}, &ShardError{"auto: SLURM_ARRAY_TASK_ID is set but neither SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MIN and _MAX are"}
			}
			count = hi - lo + 1
		} else if hi, okMax, err := num("SLURM_ARRAY_TASK_MAX"); err == nil && okMax && okMin && hi-lo+1 != count {
			// --array=0,2,4 (a list with gaps) is as stepped.
			return Shard{}, &ShardError{fmt.Sprintf("auto: the Slurm array has %d tasks between %d and %d: its task ids are not contiguous, so shards would be left unrun; use --array=0-%d", count, lo, hi, max(count-1, 0))}
		}
		// Arrays such as --array=1-8 number tasks from their minimum; a
		// stepped array (--array=0-15:4) cannot be mapped onto 0..N-1.
		k := id - lo
		if count < 1 || k < 0 || k >= count {
			return Shard{}, &ShardError{fmt.Sprintf("auto: Slurm task %d is outside its array (min %d, %d tasks); use contiguous arrays such as --array=0-%d", id, lo, count, max(count-1, 0))}
		}
		return Shard{k, count}, nil
	}
	if idx, ok, err := num("JOB_COMPLETION_INDEX"); err != nil {
		return Shard{}, err
	} else if ok {
		n, okN, err := num("CONVIS_SHARDS")
		if err != nil {
			return Shard{}, err
		}
		if !okN {
			return Shard{}, &ShardError{"auto: JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job) but CONVIS_SHARDS is not: set it to the Job's completions"}
		}
		if n < 1 || idx < 0 || idx >= n {
			return Shard{}, &ShardError{fmt.Sprintf("auto: JOB_COMPLETION_INDEX=%d is outside CONVIS_SHARDS=%d", idx, n)}
		}
		return Shard{idx, n}, nil
	}
	return Shard{}, &ShardError{"auto: neither a Slurm array task (SLURM_ARRAY_TASK_ID) nor a Kubernetes Indexed Job (JOB_COMPLETION_INDEX with CONVIS_SHARDS) is set; pass --shard K/N"}
}
