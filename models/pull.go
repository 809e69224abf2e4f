package models

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/convis/convis/internal/clip"
)

// PullOptions configure a download from the Hugging Face Hub.
type PullOptions struct {
	Store    string // model store folder
	Variant  string // fp32, fp16 or quantized
	Endpoint string // Hub URL ($HF_ENDPOINT, default https://huggingface.co)
	Token    string // $HF_TOKEN, for gated repositories
	Offline  bool   // $HF_HUB_OFFLINE or --offline: refuse the network
	Client   *http.Client
	// Progress is told of each file's bytes (done of total): once when a
	// transfer starts (done > 0 only when resuming a partial file), then as
	// bytes arrive.
	Progress func(file string, done, total int64)
	// Retries is how many times a file's transfer is tried again after a
	// dropped connection or a server error, resuming where it stopped
	// (default 5; negative: none).
	Retries int
	// Backoff is the wait before the first retry, doubled after each
	// (default 1 s, at most 30 s).
	Backoff time.Duration
	// IdleTimeout fails a transfer that receives nothing for this long
	// (default 60 s), so a stalled server cannot hang a pull.
	IdleTimeout time.Duration
}

// PullError is a failed pull; no usable model is left behind.
type PullError struct {
	Model string
	Msg   string
}

func (e *PullError) Error() string { return fmt.Sprintf("pull %s: %s", e.Model, e.Msg) }

// hubFile is one file of the Hub's list.
type hubFile struct {
	Path   string `json:"rfilename"`
	Size   int64  `json:"size"`
	BlobID string `json:"blobId"`
	LFS    *struct {
		SHA256 string `json:"sha256"`
		Size   int64  `json:"size"`
	} `json:"lfs"`
}

type hubInfo struct {
	SHA      string    `json:"sha"`
	Siblings []hubFile `json:"siblings"`
}

// wanted picks the files a model needs for a variant: configs, tokenizer,
// and the two encoders (under onnx/ or at the top level).
func wanted(files []hubFile, variant string) ([]hubFile, error) {
	suffix, ok := variantSuffix(variant)
	if !ok {
		return nil, fmt.Errorf("unknown variant %q (want fp32, fp16 or quantized)", variant)
	}
	by := map[string]hubFile{}
	for _, f := range files {
		// A repository whose file list points outside its folder is not
		// trusted at all, whichever files convis would take from it.
		if err := safePath(f.Path); err != nil {
			return nil, err
		}
		by[f.Path] = f
	}
	var out []hubFile
	for _, name := range []string{"config.json", "preprocessor_config.json"} {
		f, ok := by[name]
		if !ok {
			return nil, fmt.Errorf("the repository has no %s: not a CLIP model in the ONNX layout convis reads", name)
		}
		out = append(out, f)
	}
	// The tokenizer files clip.TokenizerForDir reads, where the repository
	// has them (tokenizer_config.json holds the maximum length and pad token).
	for _, name := range []string{"tokenizer.json", "vocab.txt", "spiece.model", "tokenizer_config.json"} {
		if f, ok := by[name]; ok {
			out = append(out, f)
		}
	}
	for _, base := range []string{"vision_model", "text_model"} {
		found := false
		for _, dir := range []string{"onnx/", ""} {
			if f, ok := by[dir+base+suffix+".onnx"]; ok {
				out = append(out, f)
				// The external data under its usual names comes along; any
				// other location the model names is fetched once the .onnx
				// is here (externalData).
				for _, ext := range []string{".onnx_data", ".onnx.data"} {
					if d, ok := by[dir+base+suffix+ext]; ok {
						out = append(out, d)
					}
				}
				found = true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("the repository has no onnx/%s%s.onnx (variant %s)", base, suffix, variant)
		}
	}
	return out, nil
}

// externalData lists the repository files that the downloaded encoders
// (files ending in .onnx, under dir) name as external data locations.
func externalData(files, siblings []hubFile, dir string) ([]hubFile, error) {
	by := map[string]hubFile{}
	for _, f := range siblings {
		by[f.Path] = f
	}
	var out []hubFile
	for _, f := range files {
		if !strings.HasSuffix(f.Path, ".onnx") {
			continue
		}
		locs, err := clip.ExternalDataLocations(filepath.Join(dir, filepath.FromSlash(f.Path)))
		if err != nil {
			return nil, err
		}
		for _, loc := range locs {
			name := path.Join(path.Dir(f.Path), filepath.ToSlash(loc))
			if err := safePath(name); err != nil || strings.HasPrefix(path.Clean(filepath.ToSlash(loc)), "../") {
				return nil, fmt.Errorf("%s names external data %q, outside the model folder: refused", f.Path, loc)
			}
			d, ok := by[name]
			if !ok {
				return nil, fmt.Errorf("%s keeps its weights in %s, which the repository does not have", f.Path, name)
			}
			out = append(out, d)
		}
	}
	return out, nil
}

func variantSuffix(v string) (string, bool) {
	switch v {
	case "", "fp32":
		return "", true
	case "fp16":
		return "_fp16", true
	case "quantized":
		return "_quantized", true
	}
	return "", false
}

// safePath refuses file names that would leave the model folder.
func safePath(p string) error {
	clean := path.Clean(p)
	if p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, "\\") || clean != p || clean == ".." || strings.HasPrefix(clean, "../") {
		return fmt.Errorf("the file list names %q, a path outside the model folder: refused", p)
	}
	return nil
}

// Pull downloads a model into the store: the revision is pinned to a
// commit, every file is verified (SHA-256 for large files, the git blob
// hash for small ones), partial files are resumed with Range requests, and
// the model folder appears only when complete and verified.
func Pull(ctx context.Context, ref Ref, o PullOptions) (*Installed, error) {
	fail := func(format string, args ...any) error {
		return &PullError{Model: ref.Name, Msg: fmt.Sprintf(format, args...)}
	}
	if o.Offline {
		return nil, fail("offline (HF_HUB_OFFLINE or --offline is set): no network access allowed; pull on a machine with access and copy the model folder, or pass --model DIR")
	}
	if o.Endpoint == "" {
		o.Endpoint = "https://huggingface.co"
	}
	o.Endpoint = strings.TrimRight(o.Endpoint, "/")
	if o.Client == nil {
		// No overall timeout (a 600 MB file takes what it takes), but a
		// server that never answers, or stops sending, fails.
		o.Client = &http.Client{Transport: &http.Transport{
			Proxy: http.ProxyFromEnvironment, ResponseHeaderTimeout: 60 * time.Second,
			TLSHandshakeTimeout: 30 * time.Second, IdleConnTimeout: 90 * time.Second,
		}}
	}
	if o.Retries == 0 {
		o.Retries = 5
	}
	if o.Backoff <= 0 {
		o.Backoff = time.Second
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 60 * time.Second
	}
	info, err := fetchInfo(ctx, ref, o)
	if err != nil {
		return nil, &PullError{Model: ref.Name, Msg: err.Error()}
	}
	files, err := wanted(info.Siblings, o.Variant)
	if err != nil {
		return nil, fail("%v", err)
	}
	partial := filepath.Join(o.Store, ".partial", ref.Name, info.SHA)
	if err := os.MkdirAll(partial, 0o755); err != nil {
		return nil, fail("%v", err)
	}
	final := filepath.Join(o.Store, ref.Name)
	variant := o.Variant
	if variant == "" {
		variant = "fp32"
	}
	// Variants of one revision live side by side: the installed files come
	// along (hard links, or copies) and are verified like downloads, so
	// pulling --variant quantized keeps fp32.
	entries := map[string]FileEntry{}
	variants := []string{variant}
	if old, err := readInstalled(final); err == nil && old.Revision == info.SHA {
		for name, e := range old.Files {
			if safePath(name) != nil {
				continue
			}
			src, dst := filepath.Join(final, filepath.FromSlash(name)), filepath.Join(partial, filepath.FromSlash(name))
			if err := linkOrCopy(src, dst); err == nil && verify(dst, e) == nil {
				entries[name] = e
			}
		}
		for _, v := range old.AllVariants() {
			if v != variant {
				variants = append(variants, v)
			}
		}
		sort.Strings(variants)
	}
	fetched := map[string]bool{}
	fetch := func(list []hubFile) error {
		for _, f := range list {
			if err := ctx.Err(); err != nil {
				return err
			}
			if fetched[f.Path] {
				continue
			}
			e, err := download(ctx, ref, info.SHA, f, partial, o)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return &PullError{Model: ref.Name, Msg: err.Error()}
			}
			entries[f.Path], fetched[f.Path] = e, true
		}
		return nil
	}
	if err := fetch(files); err != nil {
		return nil, err
	}
	// Weights stored as ONNX external data may live under any name the
	// model's initializers give: read them from the downloaded models and
	// fetch (and verify) those not yet here.
	more, err := externalData(files, info.Siblings, partial)
	if err != nil {
		return nil, fail("%v", err)
	}
	if err := fetch(more); err != nil {
		return nil, err
	}
	in := &Installed{Name: ref.Name, Repo: ref.Repo, Revision: info.SHA, Variant: variant, Variants: variants, Source: o.Endpoint, Files: entries, Pulled: time.Now().UTC()}
	meta, _ := json.MarshalIndent(in, "", "  ")
	if err := os.WriteFile(filepath.Join(partial, "convis-model.json"), meta, 0o644); err != nil {
		return nil, fail("%v", err)
	}
	old := final + ".old-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if _, err := os.Stat(final); err == nil {
		if err := os.Rename(final, old); err != nil {
			return nil, fail("%v", err)
		}
	}
	if err := os.Rename(partial, final); err != nil {
		os.Rename(old, final)
		return nil, fail("%v", err)
	}
	os.RemoveAll(old)
	os.RemoveAll(filepath.Join(o.Store, ".partial", ref.Name))
	in.Path = final
	return in, nil
}

func (o PullOptions) get(ctx context.Context, u string, header map[string]string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if o.Token != "" {
		req.Header.Set("Authorization", "Bearer "+o.Token)
	}
	req.Header.Set("User-Agent", "convis")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := o.Client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) && strings.Contains(ue.Err.Error(), "stopped after") {
			return nil, fmt.Errorf("too many redirects fetching %s", u)
		}
		return nil, err
	}
	return resp, nil
}

func statusError(resp *http.Response, what string) error {
	switch resp.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		return fmt.Errorf("%s: %s: the repository is gated or private; set HF_TOKEN to a token with access", what, resp.Status)
	case http.StatusNotFound:
		return fmt.Errorf("%s: not found (404): check the model name and revision", what)
	}
	return fmt.Errorf("%s: %s", what, resp.Status)
}

func fetchInfo(ctx context.Context, ref Ref, o PullOptions) (*hubInfo, error) {
	u := fmt.Sprintf("%s/api/models/%s/revision/%s?blobs=true", o.Endpoint, ref.Repo, url.PathEscape(ref.Revision))
	resp, err := o.get(ctx, u, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, statusError(resp, "file list of "+ref.Repo+"@"+ref.Revision)
	}
	var info hubInfo
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&info); err != nil {
		return nil, fmt.Errorf("file list of %s: %v", ref.Repo, err)
	}
	// The commit id names folders in the store: anything but a full git
	// commit id ("../../victim", a short id) is refused.
	if !commitRE.MatchString(info.SHA) {
		return nil, fmt.Errorf("file list of %s: commit id %q is not a 40-hex git commit id: refused", ref.Repo, info.SHA)
	}
	return &info, nil
}

var commitRE = regexp.MustCompile(`^[0-9a-f]{40}$`)

// download fetches one file into dir/<path>, resuming dir/<path>.part, and
// tries again after a dropped connection or a server error (Retries), each
// time asking only for the missing bytes.
func download(ctx context.Context, ref Ref, commit string, f hubFile, dir string, o PullOptions) (FileEntry, error) {
	dst := filepath.Join(dir, filepath.FromSlash(f.Path))
	size := f.Size
	want256 := ""
	if f.LFS != nil {
		want256, size = strings.ToLower(f.LFS.SHA256), f.LFS.Size
	}
	entry := FileEntry{Size: size, SHA256: want256, GitSHA: f.BlobID}
	if _, err := os.Stat(dst); err == nil {
		if verify(dst, entry) == nil {
			return entry, nil
		}
		os.Remove(dst)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return entry, err
	}
	part := dst + ".part"
	var have int64
	if fi, err := os.Stat(part); err == nil {
		have = fi.Size()
		if size > 0 && have > size {
			os.Remove(part)
			have = 0
		}
	}
	if size == 0 || have < size {
		var err error
		for attempt := 0; ; attempt++ {
			var retry bool
			have, retry, err = transfer(ctx, ref, commit, f.Path, part, have, size, o)
			if err == nil || !retry || attempt >= o.Retries || ctx.Err() != nil {
				break
			}
			wait := min(o.Backoff<<attempt, 30*time.Second)
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return entry, ctx.Err()
			}
		}
		if err != nil {
			return entry, err
		}
	}
	if err := verify(part, entry); err != nil {
		os.Remove(part) // corrupt: the next pull starts this file again
		return entry, fmt.Errorf("%s: %v", f.Path, err)
	}
	return entry, os.Rename(part, dst)
}

// transfer fetches the bytes of a file from have on, appending to part. It
// returns the bytes now in part, and whether a failure is worth retrying
// (dropped connection, idle server, 5xx, 429).
func transfer(parent context.Context, ref Ref, commit, name, part string, have, size int64, o PullOptions) (int64, bool, error) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	u := fmt.Sprintf("%s/%s/resolve/%s/%s", o.Endpoint, ref.Repo, commit, name)
	hdr := map[string]string{}
	if have > 0 {
		hdr["Range"] = fmt.Sprintf("bytes=%d-", have)
	}
	if o.Progress != nil {
		o.Progress(name, have, size)
	}
	// A server that stops sending is cut after IdleTimeout of silence.
	var idled atomic.Bool
	idle := time.AfterFunc(o.IdleTimeout, func() { idled.Store(true); cancel() })
	defer idle.Stop()
	resp, err := o.get(ctx, u, hdr)
	if err != nil {
		if idled.Load() {
			err = fmt.Errorf("no answer for %s", o.IdleTimeout)
		}
		retry := parent.Err() == nil && !strings.Contains(err.Error(), "too many redirects")
		return have, retry, fmt.Errorf("%s: %w", name, err)
	}
	defer resp.Body.Close()
	flags := os.O_CREATE | os.O_WRONLY
	switch {
	case resp.StatusCode == http.StatusPartialContent && have > 0:
		// The range must start where the part ends, or the file is garbage.
		if !contentRangeFrom(resp.Header.Get("Content-Range"), have, size) {
			os.Remove(part)
			return 0, true, fmt.Errorf("%s: the server answered Range bytes=%d- with Content-Range %q; starting the file again", name, have, resp.Header.Get("Content-Range"))
		}
		flags |= os.O_APPEND
	case resp.StatusCode == http.StatusOK:
		flags |= os.O_TRUNC // the server ignored Range: start over
		have = 0
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return have, true, statusError(resp, name)
	default:
		return have, false, statusError(resp, name)
	}
	out, err := os.OpenFile(part, flags, 0o644)
	if err != nil {
		return have, false, err
	}
	w := &progressWriter{w: out, file: name, done: have, total: size, report: o.Progress, onWrite: func() { idle.Reset(o.IdleTimeout) }}
	var body io.Reader = resp.Body
	if size > 0 {
		body = io.LimitReader(resp.Body, size-have+1) // one byte more shows an overlong answer
	}
	_, cerr := io.Copy(w, body)
	if err := out.Close(); cerr == nil {
		cerr = err
	}
	if cerr == nil && size > 0 && w.done > size {
		os.Remove(part)
		return 0, false, fmt.Errorf("%s: the server sent more than the %d bytes its file list announces", name, size)
	}
	if cerr != nil || (size > 0 && w.done < size) {
		if cerr == nil {
			cerr = io.ErrUnexpectedEOF
		}
		if idled.Load() {
			cerr = fmt.Errorf("no data for %s", o.IdleTimeout)
		}
		return w.done, parent.Err() == nil, fmt.Errorf("%s: download interrupted after %d of %d bytes (%v); run the pull again to resume", name, w.done, size, cerr)
	}
	return w.done, false, nil
}

// contentRangeFrom checks "bytes START-END/TOTAL" against the request.
func contentRangeFrom(cr string, start, size int64) bool {
	var a, b int64
	var total string
	if _, err := fmt.Sscanf(cr, "bytes %d-%d/%s", &a, &b, &total); err != nil {
		return false
	}
	if a != start {
		return false
	}
	if size > 0 && total != "*" && total != strconv.FormatInt(size, 10) {
		return false
	}
	return true
}

func linkOrCopy(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	os.Remove(dst)
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

type progressWriter struct {
	w           io.Writer
	file        string
	done, total int64
	report      func(string, int64, int64)
	onWrite     func()
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.done += int64(n)
	if p.onWrite != nil {
		p.onWrite()
	}
	if p.report != nil {
		p.report(p.file, p.done, p.total)
	}
	return n, err
}

// verify checks a file's size and hash: SHA-256 for LFS files, the git blob
// SHA-1 for small ones.
func verify(p string, e FileEntry) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if e.Size > 0 && fi.Size() != e.Size {
		return fmt.Errorf("size %d, expected %d", fi.Size(), e.Size)
	}
	var h hash.Hash
	var want string
	switch {
	case e.SHA256 != "":
		h, want = sha256.New(), e.SHA256
	case e.GitSHA != "":
		h, want = sha1.New(), e.GitSHA
		fmt.Fprintf(h, "blob %d\x00", fi.Size())
	default:
		// Every file is verified, as the README promises: a file the
		// listing gives no hash for is not installed.
		return fmt.Errorf("the file list publishes no hash for it: refused (nothing to verify it against)")
	}
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("checksum mismatch: got %s, the Hub publishes %s", got, want)
	}
	return nil
}
