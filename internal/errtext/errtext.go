// Package errtext shapes error messages the way every convis error
// promises them: one line, naming the file, without Go's repeated path.
package errtext

import (
	"errors"
	"os"
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
