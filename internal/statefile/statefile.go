// Package statefile writes, reads and locks the small files the stores keep their state in
// (containers, images, networks, volumes, the build cache, projects). One implementation of
// the store's contract, documented here once:
//
//   - Atomic replacement: data goes to a temporary file in the target's directory, which is
//     then renamed over the target, so a reader sees the old content or the new, never a
//     part, and a crash leaves at most a dot-named temporary file (never the target half
//     written). WriteSync also fsyncs before the rename, for state that cannot be derived
//     again after a power loss (image references); Write does not, for state re-derived
//     from the kernel (container liveness) on hot paths.
//   - Locks are flock(2) on a lock file: released by the kernel when the process dies, so a
//     kill -9 never leaves a lock behind. Each call opens its own file description, so
//     goroutines of one process exclude each other too.
package statefile

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Write replaces path with data atomically (no fsync).
func Write(path string, data []byte, perm os.FileMode) error { return write(path, data, perm, false) }

// WriteSync replaces path with data atomically and durably (fsync before the rename).
func WriteSync(path string, data []byte, perm os.FileMode) error {
	return write(path, data, perm, true)
}

func write(path string, data []byte, perm os.FileMode, sync bool) (retErr error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if retErr != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if sync {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("sync %s: %w", path, err)
		}
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// WriteJSON replaces path with v as indented JSON, atomically; sync as in WriteSync.
func WriteJSON(path string, v any, perm os.FileMode, sync bool) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return write(path, append(data, '\n'), perm, sync)
}

// ReadJSON decodes the JSON file at path into v. A missing file is returned as is
// (errors.Is(err, fs.ErrNotExist)); a file that does not decode names the path.
func ReadJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	return nil
}

// Lock takes an exclusive flock on path (created if missing), waiting for it; the returned
// function releases it.
func Lock(path string) (unlock func(), err error) { return lock(path, unix.LOCK_EX) }

// LockShared takes a shared flock on path, waiting for it.
func LockShared(path string) (unlock func(), err error) { return lock(path, unix.LOCK_SH) }

// TryLock takes an exclusive flock on path if it is free at once; ok is false when another
// holder has it.
func TryLock(path string) (unlock func(), ok bool, err error) {
	unlock, err = lock(path, unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return nil, false, nil
	}
	return unlock, err == nil, err
}

func lock(path string, how int) (func(), error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	for {
		err = unix.Flock(fd, how)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("flock %s: %w", path, err)
	}
	return func() { unix.Close(fd) }, nil
}
