// Package report writes convis's offline HTML pages: a gallery of a batch's
// maps (one row per image, one column per concept) and the pairs of a
// comparison. A page is one self-contained file (inline CSS and script, no
// network) plus, unless embedded, a folder of thumbnails beside it.
package report

import (
	"bytes"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"image"
	"image/jpeg"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/image/draw"

	"github.com/convis/convis/internal/render"
)

//go:embed page.html
var pageHTML string

var page = template.Must(template.New("page").Funcs(template.FuncMap{
	"json": func(v any) (template.JS, error) {
		b, err := json.Marshal(v)
		return template.JS(b), err
	},
}).Parse(pageHTML))

// ThumbWidth is the width of the grid's thumbnails: a report of 5,000
// images × 3 concepts loads thumbnails of a few kB, not full overlays.
const ThumbWidth = 180

// Cell is one picture of a row with what it shows.
type Cell struct {
	Column   string  `json:"column"` // concept, or baseline/current/difference
	Title    string  `json:"title"`  // hover text: the concept's name and definition
	Thumb    string  `json:"thumb"`  // URL of the thumbnail (relative, or a data URI)
	Full     string  `json:"full"`   // URL of the full picture
	Map      string  `json:"map"`    // URL of the raw map in its colour scale
	Original string  `json:"original,omitempty"`
	Box      string  `json:"box,omitempty"`
	Presence float64 `json:"presence"` // a score to sort by (higher first); NaN-free
	Note     string  `json:"note,omitempty"`
	Bad      bool    `json:"bad,omitempty"` // drawn in red (a failed comparison)
}

// Row is one image (gallery) or one pair (comparison).
type Row struct {
	Name  string            `json:"name"`
	Cells []Cell            `json:"cells"`
	Facts map[string]string `json:"facts,omitempty"` // metrics beside the pictures
	Bad   bool              `json:"bad,omitempty"`
}

// Failure is an image that could not be explained.
type Failure struct {
	Name  string `json:"name"`
	Error string `json:"error"`
}

// Page is everything a report shows.
type Page struct {
	Title    string            `json:"title"`
	Header   map[string]string `json:"header"` // model, method, parameters…
	Columns  []string          `json:"columns"`
	Rows     []Row             `json:"rows"`
	Failures []Failure         `json:"failures"`
	Colormap []string          `json:"colormap"` // CSS colours of the colour scale, low to high
	Sort     string            `json:"sort"`     // "name" or "presence"
	Compare  bool              `json:"compare"`
	// HasPresence offers sorting by presence (when the maps carry scores).
	HasPresence bool `json:"has_presence"`
	ThumbWidth  int  `json:"thumb_width"`
	// Warnings are for the terminal (torn run log lines), not the page,
	// which counts them in the header.
	Warnings []string `json:"-"`
}

// Writer places a page's pictures: as files in a folder beside the page,
// or embedded as data URIs. The files go to a hidden temporary folder
// first, which Write renames into place with the page: a report that fails
// half-way (or is never written) leaves no half-built folder; Discard
// removes it.
type Writer struct {
	Path   string // the HTML file
	Embed  bool
	assets string // the folder the page names (REPORT_files)
	tmp    string // where the pictures are written until Write
	n      int
}

// NewWriter prepares to write the page at path.
func NewWriter(path string, embed bool) *Writer {
	return &Writer{Path: path, Embed: embed, assets: strings.TrimSuffix(path, filepath.Ext(path)) + "_files"}
}

// Image stores a picture and returns its URL from the page. Pictures are
// JPEG (quality 88): a report's thumbnails and maps are a third of their
// PNG size, and nothing in them needs exact pixels (the .npy maps do).
func (w *Writer) Image(im image.Image, name string) (string, error) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, im, &jpeg.Options{Quality: 88}); err != nil {
		return "", err
	}
	if w.Embed {
		return "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()), nil
	}
	if w.tmp == "" {
		if err := os.MkdirAll(filepath.Dir(w.assets), 0o755); err != nil {
			return "", err
		}
		tmp, err := os.MkdirTemp(filepath.Dir(w.assets), "."+filepath.Base(w.assets)+".partial-")
		if err != nil {
			return "", err
		}
		w.tmp = tmp
	}
	w.n++
	file := fmt.Sprintf("%05d-%s.jpg", w.n, safe(name))
	if err := os.WriteFile(filepath.Join(w.tmp, file), buf.Bytes(), 0o644); err != nil {
		return "", err
	}
	return filepath.ToSlash(filepath.Join(filepath.Base(w.assets), file)), nil
}

// Discard removes the pictures of a page that will not be written.
func (w *Writer) Discard() {
	if w.tmp != "" {
		os.RemoveAll(w.tmp)
		w.tmp = ""
	}
}

// Link is the URL of an existing file from the page (relative, so the page
// and its folder can move together); empty when it does not exist.
func (w *Writer) Link(path string) string {
	if path == "" {
		return ""
	}
	if _, err := os.Stat(path); err != nil {
		return ""
	}
	abs, err1 := filepath.Abs(path)
	dir, err2 := filepath.Abs(filepath.Dir(w.Path))
	if err1 != nil || err2 != nil {
		return ""
	}
	rel, err := filepath.Rel(dir, abs)
	if err != nil {
		return ""
	}
	u := filepath.ToSlash(rel)
	// Percent-escape what a URL path cannot hold as is.
	r := strings.NewReplacer("%", "%25", "#", "%23", "?", "%3F", " ", "%20")
	return r.Replace(u)
}

// Thumb is a picture scaled to ThumbWidth (never enlarged).
func Thumb(im image.Image, width int) image.Image {
	b := im.Bounds()
	if b.Dx() <= width {
		return im
	}
	h := max(1, b.Dy()*width/b.Dx())
	dst := image.NewNRGBA(image.Rect(0, 0, width, h))
	draw.CatmullRom.Scale(dst, dst.Bounds(), im, b, draw.Src, nil)
	return dst
}

func safe(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	out := b.String()
	if len(out) > 60 {
		out = out[len(out)-60:]
	}
	return out
}

// Write renders the page into the writer's file, atomically, with its
// picture folder: the folder of an earlier page of the same name is
// replaced, and put back if the page cannot be written.
func (w *Writer) Write(p *Page) error {
	if p.ThumbWidth == 0 {
		p.ThumbWidth = ThumbWidth
	}
	sort.SliceStable(p.Rows, func(i, j int) bool { return p.Rows[i].Name < p.Rows[j].Name })
	var html bytes.Buffer
	if err := page.Execute(&html, p); err != nil {
		w.Discard()
		return err
	}
	old, moved := "", false
	if w.tmp != "" {
		if _, err := os.Lstat(w.assets); err == nil {
			old = w.tmp + ".old"
			if err := os.Rename(w.assets, old); err != nil {
				w.Discard()
				return err
			}
		}
		if err := os.Rename(w.tmp, w.assets); err != nil {
			if old != "" {
				os.Rename(old, w.assets)
			}
			w.Discard()
			return err
		}
		w.tmp, moved = "", true
	}
	err := render.WriteAtomicMkdir(w.Path, func(out io.Writer) error {
		_, err := out.Write(html.Bytes())
		return err
	})
	switch {
	case err != nil && moved:
		os.RemoveAll(w.assets)
		if old != "" {
			os.Rename(old, w.assets)
		}
	case old != "":
		os.RemoveAll(old)
	}
	return err
}

// ColormapCSS samples a colormap for the page's colour scale.
func ColormapCSS(c render.Colormap) []string {
	var out []string
	for i := 0; i <= 10; i++ {
		col := c(float64(i) / 10)
		out = append(out, fmt.Sprintf("#%02x%02x%02x", col.R, col.G, col.B))
	}
	return out
}
