package volume

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/stackhq/stack/runtime"
)

// A container's volumes go through three steps, because its ID and its image's filesystem
// exist only later:
//
//	Resolve   before runtime.Create: volumes exist (created on first use), binds are ready
//	Acquire   after Create: the container is recorded as a user of each volume
//	Fill      at the first start (runtime.NetworkAttacher's Prepare hook): the rootfs is
//	          mounted, so each empty, never-filled volume is filled from the image's content
//	          at its target
//
// A container whose creation fails is undone with Forget.

// Resolve turns mounts into the runtime's bind and tmpfs mounts: a volume becomes a bind of
// its data directory (created on first use; "" source makes an anonymous volume; NoCopy
// marks it filled), a bind source is created when CreateHostPath asks. It returns the names
// of the volumes, for Acquire (and Forget on failure).
func (s *Store) Resolve(mounts []Mount, labels map[string]string) (_ []runtime.Mount, names []string, retErr error) {
	var anon []string
	defer func() {
		if retErr != nil {
			_ = s.Forget(anon)
		}
	}()
	var out []runtime.Mount
	for _, m := range mounts {
		if err := CheckTarget(m.Target); err != nil {
			return nil, nil, err
		}
		switch m.Type {
		case TypeVolume:
			v, err := s.Create(m.Source, labels)
			if err != nil {
				return nil, nil, err
			}
			if v.Anonymous {
				anon = append(anon, v.Name)
			}
			names = append(names, v.Name)
			if m.NoCopy {
				if err := s.Populate(v.Name, ""); err != nil {
					return nil, nil, err
				}
			}
			out = append(out, runtime.Mount{Type: TypeBind, Source: v.Mountpoint, Target: m.Target, ReadOnly: m.ReadOnly})
		case TypeBind:
			if m.CreateHostPath {
				if err := os.MkdirAll(m.Source, 0o755); err != nil {
					return nil, nil, fmt.Errorf("create bind source %s: %w", m.Source, err)
				}
			} else if _, err := os.Stat(m.Source); err != nil {
				return nil, nil, fmt.Errorf("bind source path does not exist: %s: %w", m.Source, ErrInvalid)
			}
			out = append(out, runtime.Mount{Type: TypeBind, Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly})
		case TypeTmpfs:
			out = append(out, runtime.Mount{Type: TypeTmpfs, Target: m.Target, ReadOnly: m.ReadOnly, TmpfsSize: m.TmpfsSize, TmpfsMode: m.TmpfsMode})
		default:
			return nil, nil, fmt.Errorf("mount at %s: type %q: %w", m.Target, m.Type, ErrInvalid)
		}
	}
	return out, names, nil
}

// Forget removes the given anonymous volumes when no container uses them (the container
// they were made for was never created).
func (s *Store) Forget(names []string) error {
	var errs []error
	for _, n := range names {
		v, err := s.Get(n)
		if err != nil || !v.Anonymous || len(v.Users) > 0 {
			continue
		}
		errs = append(errs, s.Remove(n))
	}
	return errors.Join(errs...)
}

// Fill fills a container's volumes from its image, for each of its mounts that binds a
// volume of this store: the target is resolved inside the container's mounted rootfs with
// ResolveInRoot, so a symlink in the image that points outside is refused (ErrEscape), never
// followed.
func (s *Store) Fill(rootfs string, mounts []runtime.Mount) error {
	for _, m := range mounts {
		name, ok := s.volumeOf(m)
		if !ok {
			continue
		}
		src, err := ResolveInRoot(rootfs, m.Target)
		if err != nil {
			return fmt.Errorf("volume %s at %s: %w", name, m.Target, err)
		}
		if err := s.Populate(name, src); err != nil {
			return err
		}
	}
	return nil
}

// volumeOf returns the volume a bind mount's source is the data directory of.
func (s *Store) volumeOf(m runtime.Mount) (string, bool) {
	if m.Type != TypeBind {
		return "", false
	}
	rel, err := filepath.Rel(s.dir, m.Source)
	if err != nil {
		return "", false
	}
	name, rest, _ := strings.Cut(rel, string(filepath.Separator))
	if rest != "_data" || !nameRE().MatchString(name) {
		return "", false
	}
	return name, true
}
