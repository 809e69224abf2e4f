// Package filelock takes exclusive locks on files shared by processes
// (cache entries, the built-in model's extraction). It uses flock(2): the
// kernel drops a lock when its process dies, so a lock left by a killed
// process is taken over at once, with no stale-lock guessing.
package filelock

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"time"
)

// Lock is a held lock.
type Lock struct{ f *os.File }

// TimeoutError says a lock was not had in time.
type TimeoutError struct {
	Path string
	Wait time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("%s: another convis process has held this lock for %s; wait for it or remove the cache entry it is making", e.Path, e.Wait.Round(time.Second))
}

// Acquire locks path (creating it), waiting up to timeout; waiting is
// called once if the lock is busy, so a caller can say why it waits.
func Acquire(ctx context.Context, path string, timeout time.Duration, waiting func()) (*Lock, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	told := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return &Lock{f}, nil
		}
		if err != syscall.EWOULDBLOCK && err != syscall.EINTR {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if !told && waiting != nil {
			waiting()
			told = true
		}
		if time.Since(start) >= timeout {
			f.Close()
			return nil, &TimeoutError{path, timeout}
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Release unlocks. The lock file stays: removing it would let a process
// that opened it before the removal lock a file no one else sees.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing drops the flock
	l.f = nil
	return err
}
