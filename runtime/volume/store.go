// Package volume manages named and anonymous volumes and parses mount specifications
// (bind mounts, volumes, tmpfs) into the bind and tmpfs mounts the runtime performs.
//
// A volume is a directory <root>/volumes/<name>/_data with its metadata beside it in
// <root>/volumes/<name>/volume.json. Mutations take an exclusive flock(2) on
// <root>/volumes/.lock and write metadata with CreateTemp + Rename. The containers using a
// volume are recorded in its metadata (Users): a volume with users cannot be removed, and
// Sweep drops the users that are no longer alive after a crash.
package volume

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/stackhq/stack/internal/statefile"
)

// Volume is one volume's metadata.
type Volume struct {
	Name       string            `json:"name"`
	Mountpoint string            `json:"mountpoint"`
	Labels     map[string]string `json:"labels,omitempty"`
	// Anonymous volumes are made for one container (a `-v /path` or an image's VOLUME) and
	// removed with it by `rm -v`.
	Anonymous bool      `json:"anonymous,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	// Users are the IDs of the containers that mount the volume.
	Users []string `json:"users,omitempty"`
	// Populated is set once the volume was filled from an image (or found not empty), so
	// it is filled at most once, as Docker does.
	Populated bool `json:"populated,omitempty"`
}

// Store holds the volumes of one store root.
type Store struct{ dir string }

// nameRE is compiled on first use, not in every process of the binary (monitors, init).
var nameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`) })

// Open returns the volume store under root, creating its directory.
func Open(root string) (*Store, error) {
	dir := filepath.Join(root, "volumes")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open volume store: %w", err)
	}
	return &Store{dir: dir}, nil
}

func (s *Store) lock() (func(), error) { return statefile.Lock(filepath.Join(s.dir, ".lock")) }

func (s *Store) metaPath(name string) string { return filepath.Join(s.dir, name, "volume.json") }

func (s *Store) load(name string) (*Volume, error) {
	if !nameRE().MatchString(name) {
		return nil, fmt.Errorf("volume name %q: use letters, digits, '_', '.', '-': %w", name, ErrInvalid)
	}
	b, err := os.ReadFile(s.metaPath(name))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("volume %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read volume %s: %w", name, err)
	}
	var v Volume
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("decode volume %s: %w", name, err)
	}
	return &v, nil
}

func (s *Store) save(v *Volume) error {
	return statefile.WriteJSON(s.metaPath(v.Name), v, 0o600, false)
}

// create makes a volume; the caller holds the lock. An empty name makes an anonymous volume.
func (s *Store) create(name string, labels map[string]string) (_ *Volume, retErr error) {
	anonymous := name == ""
	if anonymous {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("name anonymous volume: %w", err)
		}
		name = hex.EncodeToString(b)
	}
	if v, err := s.load(name); err == nil {
		return v, nil
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	v := &Volume{Name: name, Mountpoint: filepath.Join(s.dir, name, "_data"), Labels: labels,
		Anonymous: anonymous, CreatedAt: time.Now().UTC()}
	if err := os.MkdirAll(v.Mountpoint, 0o755); err != nil {
		return nil, fmt.Errorf("create volume %s: %w", name, err)
	}
	defer func() {
		if retErr != nil {
			os.RemoveAll(filepath.Join(s.dir, name))
		}
	}()
	if err := s.save(v); err != nil {
		return nil, err
	}
	return v, nil
}

// Create makes the named volume (or returns it when it exists); "" makes an anonymous one.
func (s *Store) Create(name string, labels map[string]string) (*Volume, error) {
	unlock, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	return s.create(name, labels)
}

// Get returns the volume name.
func (s *Store) Get(name string) (*Volume, error) { return s.load(name) }

// List returns every volume, by name.
func (s *Store) List() ([]*Volume, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("list volumes: %w", err)
	}
	var out []*Volume
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		v, err := s.load(e.Name())
		if errors.Is(err, ErrNotFound) {
			continue // a directory whose metadata was never written: Sweep removes it
		}
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Remove deletes a volume and its data; it refuses a volume that containers use.
func (s *Store) Remove(name string) error {
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	v, err := s.load(name)
	if err != nil {
		return err
	}
	return s.remove(v)
}

func (s *Store) remove(v *Volume) error {
	if len(v.Users) > 0 {
		return fmt.Errorf("remove volume %s: used by %d container(s) (%s): %w", v.Name, len(v.Users), short(v.Users[0]), ErrInUse)
	}
	if err := os.RemoveAll(filepath.Join(s.dir, v.Name)); err != nil {
		return fmt.Errorf("remove volume %s: %w", v.Name, err)
	}
	return nil
}

// Prune removes the volumes no container uses: anonymous ones only, or every one with all.
func (s *Store) Prune(all bool) ([]string, error) {
	unlock, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	vols, err := s.List()
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, v := range vols {
		if len(v.Users) > 0 || (!all && !v.Anonymous) {
			continue
		}
		if err := s.remove(v); err != nil {
			return removed, err
		}
		removed = append(removed, v.Name)
	}
	return removed, nil
}

// Acquire records containerID as a user of the volume name, creating it first when it does
// not exist ("" creates an anonymous volume).
func (s *Store) Acquire(name, containerID string, labels map[string]string) (*Volume, error) {
	unlock, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	v, err := s.create(name, labels)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(v.Users, containerID) {
		v.Users = append(v.Users, containerID)
		if err := s.save(v); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// Release drops containerID from the users of every volume; with removeAnonymous (`rm -v`)
// the anonymous volumes it leaves unused are removed too.
func (s *Store) Release(containerID string, removeAnonymous bool) error {
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	return s.release(func(id string) bool { return id != containerID }, func(v *Volume, wasUser bool) bool {
		return wasUser && removeAnonymous && v.Anonymous
	})
}

// Sweep drops users that are not alive (containers removed by a process that crashed).
func (s *Store) Sweep(alive func(containerID string) bool) error {
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	return s.release(alive, func(*Volume, bool) bool { return false })
}

// release keeps the users for which keep is true and removes the volumes left unused for
// which drop is true; the caller holds the lock.
func (s *Store) release(keep func(string) bool, drop func(v *Volume, wasUser bool) bool) error {
	vols, err := s.List()
	if err != nil {
		return err
	}
	var errs []error
	for _, v := range vols {
		users := slices.DeleteFunc(slices.Clone(v.Users), func(id string) bool { return !keep(id) })
		if len(users) == len(v.Users) {
			continue
		}
		v.Users = users
		if len(users) == 0 && drop(v, true) {
			errs = append(errs, s.remove(v))
			continue
		}
		errs = append(errs, s.save(v))
	}
	return errors.Join(errs...)
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
