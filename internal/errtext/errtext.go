// Package errtext shapes error messages the way every convis error
// promises them: one line, naming the file, without Go's repeated path.
package errtext

import (
	"errors"
	"os"
	"strings"
)

// UnwrapPath drops an *os.PathError's own "op path:" prefix, for messages
// that name the file themselves ("sidecar a.json: no such file…").
func UnwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// OneLine keeps a message to one line, as every error message promises:
// line breaks become spaces and runs of white space one space.
func OneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// Truncate cuts s after n bytes, marking the cut with "…" (for text of
// other libraries, which may run long).
func Truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
