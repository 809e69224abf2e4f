// Package hubtest is a local stand-in for the Hugging Face Hub, for tests:
// the file list API, resolve with a redirect, Range requests, SHA-256
// metadata, and switches for the failures a download must survive.
package hubtest

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Hub serves one repository's files.
type Hub struct {
	Server *httptest.Server
	Repo   string
	Commit string
	Files  map[string][]byte

	mu sync.Mutex
	// Failure switches.
	Token         string            // required bearer token, if set
	WrongSHA      map[string]bool   // publish a wrong SHA-256 for these files
	CutAfter      map[string]int    // close the connection after N bytes, once
	CutAlways     map[string]int    // close the connection after N more bytes, every time
	Stall         map[string]bool   // send the headers and half the file, then nothing
	NoHash        map[string]bool   // publish no hash for these files
	Extra         map[string]int    // send this many bytes more than the file has
	BadRange      bool              // answer a Range with a 206 that starts elsewhere
	Requests      map[string]int    // transfers asked per file
	RedirectLoop  bool              // resolve redirects to itself forever
	ExtraSiblings []string          // more names in the file list (e.g. ../escape)
	Sent          map[string]int64  // body bytes sent per file
	Ranges        map[string]string // last Range header per file
}

// New serves the files of dir (relative paths) as repository repo.
func New(repo, dir string) (*Hub, error) {
	h := &Hub{Repo: repo, Commit: "0123456789abcdef0123456789abcdef01234567", Files: map[string][]byte{},
		WrongSHA: map[string]bool{}, CutAfter: map[string]int{}, Sent: map[string]int64{}, Ranges: map[string]string{},
		CutAlways: map[string]int{}, Stall: map[string]bool{}, NoHash: map[string]bool{}, Extra: map[string]int{}, Requests: map[string]int{}}
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || !fi.Mode().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		data, err := os.ReadFile(p)
		h.Files[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		return nil, err
	}
	h.Server = httptest.NewServer(http.HandlerFunc(h.serve))
	return h, nil
}

// Close stops the server.
func (h *Hub) Close() { h.Server.Close() }

// URL is the endpoint (HF_ENDPOINT).
func (h *Hub) URL() string { return h.Server.URL }

func (h *Hub) serve(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.Token != "" && r.Header.Get("Authorization") != "Bearer "+h.Token {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	api := "/api/models/" + h.Repo + "/revision/"
	resolve := "/" + h.Repo + "/resolve/"
	switch {
	case strings.HasPrefix(r.URL.Path, api):
		type lfs struct {
			SHA256 string `json:"sha256"`
			Size   int    `json:"size"`
		}
		type sib struct {
			Path   string `json:"rfilename"`
			Size   int    `json:"size"`
			BlobID string `json:"blobId"`
			LFS    *lfs   `json:"lfs,omitempty"`
		}
		var sibs []sib
		for name, data := range h.Files {
			s := sib{Path: name, Size: len(data)}
			if isLFS(name) {
				sum := sha256.Sum256(data)
				s.LFS = &lfs{SHA256: hex.EncodeToString(sum[:]), Size: len(data)}
				if h.WrongSHA[name] {
					s.LFS.SHA256 = strings.Repeat("0", 64)
				}
			} else {
				g := sha1.New()
				fmt.Fprintf(g, "blob %d\x00", len(data))
				g.Write(data)
				s.BlobID = hex.EncodeToString(g.Sum(nil))
			}
			if h.NoHash[name] {
				s.LFS, s.BlobID = nil, ""
			}
			sibs = append(sibs, s)
		}
		for _, name := range h.ExtraSiblings {
			sibs = append(sibs, sib{Path: name, Size: 1})
		}
		json.NewEncoder(w).Encode(map[string]any{"id": h.Repo, "sha": h.Commit, "siblings": sibs})
	case strings.HasPrefix(r.URL.Path, resolve):
		if h.RedirectLoop {
			http.Redirect(w, r, r.URL.Path, http.StatusFound)
			return
		}
		rest := strings.TrimPrefix(r.URL.Path, resolve)
		_, name, _ := strings.Cut(rest, "/")
		http.Redirect(w, r, "/cdn/"+name, http.StatusFound)
	case strings.HasPrefix(r.URL.Path, "/cdn/"):
		name := strings.TrimPrefix(r.URL.Path, "/cdn/")
		data, ok := h.Files[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h.Ranges[name] = r.Header.Get("Range")
		h.Requests[name]++
		var from int
		fmt.Sscanf(r.Header.Get("Range"), "bytes=%d-", &from)
		cut := func(n int, status int) {
			w.Header().Set("Content-Length", fmt.Sprint(len(data)-from))
			if status == http.StatusPartialContent {
				w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", from, len(data)-1, len(data)))
			}
			w.WriteHeader(status)
			end := min(from+n, len(data))
			w.Write(data[from:end])
			h.Sent[name] += int64(end - from)
			if hj, ok := w.(http.Hijacker); ok {
				conn, buf, _ := hj.Hijack()
				buf.Flush()
				conn.Close()
			}
		}
		status := http.StatusOK
		if from > 0 {
			status = http.StatusPartialContent
		}
		if n, ok := h.CutAlways[name]; ok {
			cut(n, status)
			return
		}
		if h.Stall[name] {
			w.Header().Set("Content-Length", fmt.Sprint(len(data)))
			w.WriteHeader(http.StatusOK)
			w.Write(data[:len(data)/2])
			w.(http.Flusher).Flush()
			h.mu.Unlock()
			<-r.Context().Done() // until the client gives up
			h.mu.Lock()
			return
		}
		if h.BadRange && from > 0 {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", 0, len(data)-1, len(data)))
			w.WriteHeader(http.StatusPartialContent)
			w.Write(data)
			return
		}
		if n, ok := h.Extra[name]; ok {
			w.WriteHeader(http.StatusOK)
			w.Write(data)
			w.Write(make([]byte, n))
			return
		}
		if n, ok := h.CutAfter[name]; ok {
			delete(h.CutAfter, name)
			w.Header().Set("Content-Length", fmt.Sprint(len(data)))
			w.WriteHeader(http.StatusOK)
			w.Write(data[:n])
			h.Sent[name] += int64(n)
			if hj, ok := w.(http.Hijacker); ok {
				conn, buf, _ := hj.Hijack()
				buf.Flush()
				conn.Close()
			}
			return
		}
		cw := &countingWriter{ResponseWriter: w}
		http.ServeContent(cw, r, name, time.Time{}, bytes.NewReader(data))
		h.Sent[name] += cw.n
	default:
		http.NotFound(w, r)
	}
}

type countingWriter struct {
	http.ResponseWriter
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	c.n += int64(n)
	return n, err
}

// isLFS says which files the Hub keeps in Git LFS (and so lists with a
// SHA-256): the models and their external weights, as a real repository's
// .gitattributes does (*.onnx, *.onnx_data, *.onnx.data, *.bin, …).
func isLFS(name string) bool {
	for _, ext := range []string{".onnx", ".onnx_data", ".onnx.data", ".bin", ".safetensors", ".model"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}
