package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/convis/convis/internal/pipeline"
	"github.com/convis/convis/internal/record"
)

// slurmCluster starts scripts/slurm-local.sh in a scratch folder and stops
// it at the end of the test, checking that none of its daemons is left.
func slurmCluster(t *testing.T) []string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "slurm")
	script, _ := filepath.Abs("../../scripts/slurm-local.sh")
	out, err := exec.Command(script, "start", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("slurm-local.sh start: %v\n%s", err, out)
	}
	env := []string{"SLURM_CONF=" + filepath.Join(dir, "slurm.conf")}
	t.Cleanup(func() {
		pids := map[string]string{}
		for _, pf := range []string{"slurmd.pid", "slurmctld.pid", "munge/munged.pid"} {
			if data, err := os.ReadFile(filepath.Join(dir, pf)); err == nil {
				pids[pf] = strings.TrimSpace(string(data))
			}
		}
		if out, err := exec.Command(script, "stop", dir).CombinedOutput(); err != nil {
			t.Errorf("slurm-local.sh stop: %v\n%s", err, out)
		}
		for pf, pid := range pids {
			if exec.Command("kill", "-0", pid).Run() == nil {
				t.Errorf("slurm-local.sh stop left %s (pid %s) running", pf, pid)
			}
		}
	})
	return env
}

func slurm(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// waitJob waits until squeue no longer lists the job.
func waitJob(t *testing.T, env []string, job string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if slurm(t, env, "squeue", "-h", "-j", job, "-o", "%i") == "" {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("job %s still queued or running after %s:\n%s", job, timeout, slurm(t, env, "squeue"))
}

// The cluster path on a real Slurm (make test-cluster): docs/convis-array.sbatch,
// the very script of docs/batch.md, as a 3-task array over 30 benchmark
// scenes and two concepts. Every image is explained exactly once, the maps
// equal a single process's byte for byte, runs summary over the shared
// folder counts what the single run does; a task cancelled with scancel
// mid-run and resubmitted alone does only the missing work.
func TestSlurmArray(t *testing.T) {
	if os.Getenv("CONVIS_CLUSTER_TEST") == "" {
		t.Skip("needs a Slurm cluster: run make test-cluster (installs nothing itself; .ci/run installs slurmctld, slurmd, slurm-client, munge)")
	}
	start := time.Now()
	lib := ortLibForTest(t)
	env := slurmCluster(t)
	warmIndex(t, lib, sharedCache)
	work := t.TempDir()
	images := filepath.Join(work, "scenes")
	scenes, _ := filepath.Glob("../../testdata/scenes/single/00[0-2]?.png")
	if len(scenes) < 30 {
		t.Fatalf("%d scenes", len(scenes))
	}
	for i, s := range scenes[:30] {
		writeFile(t, filepath.Join(images, []string{"a", "b", "c"}[i%3], filepath.Base(s)), mustRead(t, s))
	}
	fixture, _ := filepath.Abs("../../testdata/fixture-model")
	script, _ := filepath.Abs("../../docs/convis-array.sbatch")
	jobEnv := func(out string) string {
		return strings.Join([]string{"ALL", "CONVIS=" + os.Args[0], "CONVIS_TEST_AS_CONVIS=1", "CONVIS_ORT_LIB=" + lib,
			"CONVIS_CACHE_DIR=" + sharedCache, "IMAGES=" + images, "OUT=" + out, "MODEL=" + fixture,
			"CONCEPTS=animal food", "VOCAB=paper"}, ",")
	}
	submit := func(out, array string, extra ...string) string {
		args := append([]string{"--parsable", "--array=" + array, "--cpus-per-task=1", "--mem=1G", "--time=00:10:00",
			"--output=" + filepath.Join(work, "slurm-%A_%a.log"), "--export=" + jobEnv(out)}, extra...)
		return slurm(t, env, "sbatch", append(args, script)...)
	}

	// One process, the reference.
	single := filepath.Join(work, "single")
	ref := convisCmd(t, []string{"CONVIS_CACHE_DIR=" + sharedCache}, "explain", images, "--recursive", "--model", fixture,
		"--concept", "animal", "--concept", "food", "--vocab", "paper", "--output", single, "--threads", "1", "--jsonl")
	if out, err := ref.CombinedOutput(); err != nil {
		t.Fatalf("single run: %v\n%s", err, out)
	}

	// The array.
	shared := filepath.Join(work, "shared")
	job := submit(shared, "0-2")
	waitJob(t, env, job, 4*time.Minute)
	seen := map[string]int{}
	for k := 0; k < 3; k++ {
		entries, err := record.ReadRunLog(filepath.Join(shared, fmt.Sprintf("convis-run.%d-of-3.jsonl", k)))
		if err != nil {
			t.Fatalf("task %d: %v\n%s", k, err, mustRead(t, filepath.Join(work, fmt.Sprintf("slurm-%s_%d.log", job, k))))
		}
		for _, e := range entries {
			if e.Record != nil && e.Record.Status == record.StatusOK {
				seen[e.Record.Rel+" "+e.Record.Concept]++
			}
		}
	}
	if len(seen) != 60 {
		t.Errorf("the array made %d pairs, want 60 (30 images × 2 concepts)", len(seen))
	}
	for pair, n := range seen {
		if n != 1 {
			t.Errorf("%s explained %d times", pair, n)
		}
	}
	sameOutputs(t, single, shared)
	summary := func(dir string) record.Summary {
		var out bytes.Buffer
		if code := Main(t.Context(), []string{"runs", "summary", dir, "--json"}, nil, &out, os.Stderr); code != 0 {
			t.Fatalf("runs summary %s: exit %d", dir, code)
		}
		var s record.Summary
		json.Unmarshal(out.Bytes(), &s)
		return s
	}
	if a, b := summary(single), summary(shared); a.Images != b.Images || a.Done != b.Done || a.Failed != b.Failed || b.Done != 60 || b.Runs != 3 {
		t.Errorf("runs summary: single %+v, array %+v", a, b)
	}

	// A task cancelled mid-run, then resubmitted alone.
	killed := filepath.Join(work, "killed")
	job = submit(killed, "0-2")
	log1 := filepath.Join(killed, "convis-run.1-of-3.jsonl")
	deadline := time.Now().Add(3 * time.Minute)
	for {
		if data, err := os.ReadFile(log1); err == nil && bytes.Count(data, []byte(`"type":"record"`)) >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("task 1 wrote no record in 3 minutes")
		}
		time.Sleep(50 * time.Millisecond)
	}
	slurm(t, env, "scancel", job+"_1")
	waitJob(t, env, job, 4*time.Minute)
	before := map[string]bool{}
	entries, _ := record.ReadRunLog(log1)
	for _, e := range entries {
		if e.Record != nil && e.Record.Status == record.StatusOK {
			before[e.Record.Rel+" "+e.Record.Concept] = true
		}
		// scancel sends SIGTERM: convis finishes the file it writes and
		// ends its log with an "interrupted" footer.
		if e.Footer != nil && e.Footer.Stopped != "interrupted" {
			t.Fatal("task 1 finished before scancel: the test did not cancel it mid-run")
		}
	}
	shard1 := 0
	for pair := range seen {
		if (pipeline.Shard{K: 1, N: 3}).Has(strings.Fields(pair)[0]) {
			shard1++
		}
	}
	if len(before) == 0 || len(before) >= shard1 {
		t.Fatalf("task 1 made %d of its %d pairs before scancel", len(before), shard1)
	}
	resub := submit(killed, "1", "--export="+jobEnv(killed)+",CONVIS_SHARDS=3")
	waitJob(t, env, resub, 4*time.Minute)
	entries, _ = record.ReadRunLog(log1)
	// The resubmitted task's run: after the log's last header.
	last := -1
	for i, e := range entries {
		if e.Header != nil {
			last = i
		}
	}
	if last < 0 || entries[last].Header.Shard != "1/3" {
		t.Fatalf("the resubmitted task did not run as shard 1/3")
	}
	var made, skipped int
	for _, e := range entries[last+1:] {
		if e.Record == nil {
			continue
		}
		key := e.Record.Rel + " " + e.Record.Concept
		switch e.Record.Status {
		case record.StatusSkipped:
			skipped++
			if !before[key] {
				t.Errorf("%s skipped but was never made", key)
			}
		case record.StatusOK:
			made++
			if before[key] {
				t.Errorf("%s made again by the resubmitted task", key)
			}
		}
	}
	if made+skipped != shard1 || skipped < len(before) {
		t.Errorf("resubmitted task: %d made, %d skipped; want the %d pairs of shard 1, %d of them skipped", made, skipped, shard1, len(before))
	}
	sameOutputs(t, single, killed)
	t.Logf("cluster test: %d pairs, array, scancel and resubmission in %s", len(seen), time.Since(start).Round(time.Second))
}

// sameOutputs checks two output folders hold the same files, byte for byte
// (run logs aside).
func sameOutputs(t *testing.T, a, b string) {
	t.Helper()
	fa, fb := outputs(t, a), outputs(t, b)
	if len(fa) != len(fb) {
		t.Errorf("%s has %d files, %s %d", a, len(fa), b, len(fb))
	}
	for name, data := range fa {
		if !bytes.Equal(fb[name], data) {
			t.Errorf("%s differs between %s and %s", name, a, b)
		}
	}
}

// The Kubernetes Indexed Job of docs/batch.md (docs/convis-job.yaml), as far
// as it can be checked without a cluster: the fields that make it a sharded
// convis run, and its command run here for every index with the variables
// Kubernetes sets, the volumes mapped to folders.
func TestKubernetesManifest(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every shard of the Job (make test-long)")
	}
	var job struct {
		Kind string `yaml:"kind"`
		Spec struct {
			CompletionMode string `yaml:"completionMode"`
			Completions    int    `yaml:"completions"`
			Parallelism    int    `yaml:"parallelism"`
			Template       struct {
				Spec struct {
					RestartPolicy string `yaml:"restartPolicy"`
					Containers    []struct {
						Command []string `yaml:"command"`
						Env     []struct {
							Name  string `yaml:"name"`
							Value string `yaml:"value"`
						} `yaml:"env"`
						VolumeMounts []struct {
							Name      string `yaml:"name"`
							MountPath string `yaml:"mountPath"`
							ReadOnly  bool   `yaml:"readOnly"`
						} `yaml:"volumeMounts"`
					} `yaml:"containers"`
					Volumes []struct {
						Name string `yaml:"name"`
					} `yaml:"volumes"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	if err := yaml.Unmarshal(mustRead(t, "../../docs/convis-job.yaml"), &job); err != nil {
		t.Fatal(err)
	}
	spec := job.Spec
	if job.Kind != "Job" || spec.CompletionMode != "Indexed" || spec.Completions < 2 || spec.Parallelism != spec.Completions {
		t.Fatalf("not an Indexed Job of parallel shards: %+v", spec)
	}
	if len(spec.Template.Spec.Containers) != 1 {
		t.Fatal("want one container")
	}
	c := spec.Template.Spec.Containers[0]
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	if env["CONVIS_SHARDS"] != strconv.Itoa(spec.Completions) {
		t.Errorf("CONVIS_SHARDS=%q, completions %d", env["CONVIS_SHARDS"], spec.Completions)
	}
	cmd := strings.Join(c.Command, " ")
	if c.Command[0] != "convis" || c.Command[1] != "explain" || !strings.Contains(cmd, "--shard auto") || !strings.Contains(cmd, "--output /out") {
		t.Errorf("command %q", cmd)
	}
	volumes := map[string]bool{}
	for _, v := range spec.Template.Spec.Volumes {
		volumes[v.Name] = true
	}
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		if !volumes[m.Name] {
			t.Errorf("mount %s names no volume", m.Name)
		}
		mounts[m.MountPath] = m.Name
		if m.MountPath == "/out" && m.ReadOnly {
			t.Error("the output volume is read-only")
		}
	}
	for _, p := range []string{"/data", "/models", "/out"} {
		if mounts[p] == "" {
			t.Errorf("no volume at %s", p)
		}
	}

	// Run the command for every index, the volumes as folders.
	lib := ortLibForTest(t)
	root := t.TempDir()
	local := map[string]string{"/data": filepath.Join(root, "data"), "/models": filepath.Join(root, "models"), "/out": filepath.Join(root, "out")}
	scenes, _ := filepath.Glob("../../testdata/scenes/single/000?.png")
	for _, s := range scenes {
		writeFile(t, filepath.Join(local["/data"], "scans", filepath.Base(s)), mustRead(t, s))
	}
	os.MkdirAll(local["/models"], 0o755)
	fixture, _ := filepath.Abs("../../testdata/fixture-model")
	var args []string
	for _, a := range c.Command[1:] {
		for mount, dir := range local {
			if a == mount || strings.HasPrefix(a, mount+"/") {
				a = dir + strings.TrimPrefix(a, mount)
				if mount == "/models" {
					os.Symlink(fixture, a) // the model "in the volume"
				}
			}
		}
		args = append(args, a)
	}
	cache := env["CONVIS_CACHE_DIR"]
	for mount, dir := range local {
		cache = strings.Replace(cache, mount, dir, 1)
	}
	seen := map[string]int{}
	for i := 0; i < spec.Completions; i++ {
		run := convisCmd(t, []string{"JOB_COMPLETION_INDEX=" + strconv.Itoa(i), "CONVIS_SHARDS=" + env["CONVIS_SHARDS"], "CONVIS_CACHE_DIR=" + cache, "CONVIS_ORT_LIB=" + lib}, args...)
		out, err := run.Output()
		if err != nil {
			t.Fatalf("index %d: %v", i, err)
		}
		for _, r := range readRecords(t, out) {
			if r.Status == record.StatusOK {
				seen[r.Rel+" "+r.Concept]++
			}
		}
	}
	if len(seen) != 2*len(scenes) {
		t.Errorf("the indexes made %d pairs, want %d", len(seen), 2*len(scenes))
	}
	for pair, n := range seen {
		if n != 1 {
			t.Errorf("%s made by %d indexes", pair, n)
		}
	}
}
