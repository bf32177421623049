package volume

import (
	"fmt"
	"os"
)

// Resolve prepares the mounts of a container being created and returns them with every
// volume turned into a bind of its data directory, in this order per mount:
//
//  1. volume: acquire it (create on first use, "" source = a new anonymous volume, record
//     the container as a user), then, unless NoCopy, fill it from the image on its first
//     mount: imageRoot is a directory holding the image's filesystem ("" skips this); the
//     target is resolved inside it with ResolveInRoot, so a symlink in the image that points
//     outside is refused rather than followed;
//  2. bind with CreateHostPath: create the missing host directory;
//  3. tmpfs: passed through.
//
// On error every volume acquired for the container is released again (and anonymous ones
// removed), so a refused container leaves nothing behind.
func (s *Store) Resolve(containerID string, mounts []Mount, imageRoot string, labels map[string]string) (_ []Mount, retErr error) {
	defer func() {
		if retErr != nil {
			_ = s.Release(containerID, true)
		}
	}()
	out := make([]Mount, 0, len(mounts))
	for _, m := range mounts {
		if err := CheckTarget(m.Target); err != nil {
			return nil, err
		}
		switch m.Type {
		case TypeVolume:
			v, err := s.Acquire(m.Source, containerID, labels)
			if err != nil {
				return nil, err
			}
			if !m.NoCopy && imageRoot != "" {
				src, err := ResolveInRoot(imageRoot, m.Target)
				if err != nil {
					return nil, fmt.Errorf("volume %s at %s: %w", v.Name, m.Target, err)
				}
				if err := s.Populate(v.Name, src); err != nil {
					return nil, err
				}
			}
			m = Mount{Type: TypeBind, Source: v.Mountpoint, Target: m.Target, ReadOnly: m.ReadOnly}
		case TypeBind:
			if m.CreateHostPath {
				if err := os.MkdirAll(m.Source, 0o755); err != nil {
					return nil, fmt.Errorf("create bind source %s: %w", m.Source, err)
				}
			} else if _, err := os.Stat(m.Source); err != nil {
				return nil, fmt.Errorf("bind source path does not exist: %s: %w", m.Source, ErrInvalid)
			}
		case TypeTmpfs:
		default:
			return nil, fmt.Errorf("mount at %s: type %q: %w", m.Target, m.Type, ErrInvalid)
		}
		out = append(out, m)
	}
	return out, nil
}
