// Package models holds the built-in demo model and the model store: the
// list of known downloadable models and the folders of installed ones.
package models

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// BuiltinName names the embedded demo model.
const BuiltinName = "convis-tiny"

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// NotInstalledError is a --model name that is neither a folder nor installed.
type NotInstalledError struct{ Name string }

func (e *NotInstalledError) Error() string {
	if _, err := ParseRef(e.Name); err == nil {
		return fmt.Sprintf("model %q is not installed and is not a directory; run `convis model pull %s` or pass a model folder", e.Name, e.Name)
	}
	// Not a name pull understands either: say what is.
	var names []string
	for n := range KnownModels() {
		names = append(names, n)
	}
	sort.Strings(names)
	return fmt.Sprintf("model %q is not installed, not a directory and not a model convis can pull; pull one of %s or hf:OWNER/REPO, or pass a model folder (`convis model list` shows what is installed)", e.Name, strings.Join(names, ", "))
}

// InstalledDir is the folder of an installed model under store.
func InstalledDir(store, name string) (string, error) {
	dirName := DirFor(name)
	if !nameRE.MatchString(dirName) {
		return "", &NotInstalledError{name}
	}
	dir := filepath.Join(store, dirName)
	if _, err := os.Stat(filepath.Join(dir, "convis-model.json")); err != nil {
		return "", &NotInstalledError{name}
	}
	return dir, nil
}
