package spec

import (
	"fmt"
	"path/filepath"
	"strings"
)

// paths resolves host paths of a stack file: relative to the project directory, ~ to the
// user's home directory.
type paths struct{ workDir, home string }

func (p paths) abs(s string) string {
	switch {
	case s == "~":
		return p.home
	case strings.HasPrefix(s, "~/"):
		return filepath.Join(p.home, s[2:])
	case filepath.IsAbs(s):
		return filepath.Clean(s)
	}
	return filepath.Join(p.workDir, s)
}

// parseVolumeSpec reads the short syntax of a service volume:
//
//	/data                     anonymous volume at /data
//	name:/data[:ro]           named volume (declared in the top-level volumes)
//	./dir:/data[:ro]          bind mount; a source starting with /, . or ~ is a host path
//
// It returns the mount and the options it ignores (warnings).
func parseVolumeSpec(spec string, p paths) (Mount, []string, error) {
	parts := strings.Split(spec, ":")
	var m Mount
	var mode string
	switch len(parts) {
	case 1:
		m = Mount{Type: MountVolume, Target: parts[0]}
	case 2, 3:
		m.Source, m.Target = parts[0], parts[1]
		if len(parts) == 3 {
			mode = parts[2]
		}
	default:
		return m, nil, fmt.Errorf("invalid volume %q: want [SOURCE:]TARGET[:MODE]", spec)
	}
	if len(parts) > 1 {
		switch {
		case m.Source == "":
			return m, nil, fmt.Errorf("invalid volume %q: empty source", spec)
		case strings.HasPrefix(m.Source, "/") || strings.HasPrefix(m.Source, ".") || strings.HasPrefix(m.Source, "~"):
			m.Type, m.Source, m.CreateHostPath = MountBind, p.abs(m.Source), true
		default:
			m.Type = MountVolume
		}
	}
	var ignored []string
	if mode != "" {
		for _, opt := range strings.Split(mode, ",") {
			switch opt {
			case "ro":
				m.ReadOnly = true
			case "rw", "consistent", "cached", "delegated":
				// rw is the default; the consistency hints only matter on macOS.
			case "z", "Z", "nocopy", "shared", "rshared", "slave", "rslave", "private", "rprivate":
				ignored = append(ignored, opt)
			default:
				return m, nil, fmt.Errorf("invalid volume %q: unknown option %q (ro, rw)", spec, opt)
			}
		}
	}
	return m, ignored, nil
}

// parseTmpfsSpec reads a tmpfs entry "/run[:size=64m,mode=1777,ro]". It returns the
// mount and the options it ignores (warnings).
func parseTmpfsSpec(spec string) (Mount, []string, error) {
	target, opts, _ := strings.Cut(spec, ":")
	m := Mount{Type: MountTmpfs, Target: target}
	var ignored []string
	if opts == "" {
		return m, nil, nil
	}
	for _, opt := range strings.Split(opts, ",") {
		k, v, _ := strings.Cut(opt, "=")
		var err error
		switch k {
		case "size":
			m.TmpfsSize, err = parseSize(v)
		case "mode":
			m.TmpfsMode, err = parseMode(v)
		case "ro":
			m.ReadOnly = true
		case "rw":
		case "noexec", "exec", "nosuid", "suid", "nodev", "dev", "uid", "gid", "nr_inodes", "nr_blocks", "mpol":
			ignored = append(ignored, opt)
		default:
			return m, nil, fmt.Errorf("invalid tmpfs %q: unknown option %q (size, mode, ro)", spec, opt)
		}
		if err != nil {
			return m, nil, fmt.Errorf("invalid tmpfs %q: %w", spec, err)
		}
	}
	return m, ignored, nil
}
