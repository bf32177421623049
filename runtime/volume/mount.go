package volume

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Mount is one mount of a container before volumes are resolved: Type "volume" (Source
// names the volume, "" for an anonymous one), "bind" (Source is an absolute host path) or
// "tmpfs". Resolve turns volumes into binds.
type Mount struct {
	Type     string `json:"type"`
	Source   string `json:"source,omitempty"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"readOnly,omitempty"`
	// CreateHostPath: a missing bind source is created (the -v short syntax), rather than
	// an error (--mount), as in Docker.
	CreateHostPath bool `json:"createHostPath,omitempty"`
	// NoCopy: do not fill an empty volume from the image (volume-nocopy, :nocopy).
	NoCopy bool `json:"noCopy,omitempty"`
	// TmpfsSize in bytes (0: the kernel's default, half of RAM) and TmpfsMode (0: 1777).
	TmpfsSize int64       `json:"tmpfsSize,omitempty"`
	TmpfsMode os.FileMode `json:"tmpfsMode,omitempty"`
}

// Mount types.
const (
	TypeVolume = "volume"
	TypeBind   = "bind"
	TypeTmpfs  = "tmpfs"
)

// CheckTarget refuses a container path that is not absolute or has `..` components.
func CheckTarget(target string) error {
	if !strings.HasPrefix(target, "/") {
		return fmt.Errorf("mount target %q: must be an absolute path: %w", target, ErrInvalid)
	}
	for _, c := range strings.Split(target, "/") {
		if c == ".." {
			return fmt.Errorf("mount target %q: `..` is not allowed: %w", target, ErrEscape)
		}
	}
	if filepath.Clean(target) == "/" {
		return fmt.Errorf("mount target %q: cannot mount over the root: %w", target, ErrInvalid)
	}
	return nil
}

// ParseVolumeFlag parses `-v`: "/ctr" (anonymous volume), "NAME:/ctr[:OPTS]" (named volume)
// or "HOST:/ctr[:OPTS]" (bind; HOST starts with "/", "./", "../", "~" or is "." or "..",
// relative paths against baseDir, a missing HOST is created). OPTS: ro, rw, nocopy.
func ParseVolumeFlag(spec, baseDir string) (Mount, error) {
	parts := strings.Split(spec, ":")
	var m Mount
	switch len(parts) {
	case 1:
		m = Mount{Type: TypeVolume, Target: parts[0]}
	case 2, 3:
		m = Mount{Type: TypeVolume, Source: parts[0], Target: parts[1]}
		if len(parts) == 3 {
			for _, o := range strings.Split(parts[2], ",") {
				switch o {
				case "ro":
					m.ReadOnly = true
				case "rw":
					m.ReadOnly = false
				case "nocopy":
					m.NoCopy = true
				default:
					return Mount{}, fmt.Errorf("volume %q: unknown option %q (use ro, rw, nocopy): %w", spec, o, ErrInvalid)
				}
			}
		}
	default:
		return Mount{}, fmt.Errorf("volume %q: use [SOURCE:]TARGET[:OPTIONS]: %w", spec, ErrInvalid)
	}
	if m.Source != "" && isPath(m.Source) {
		src, err := hostPath(m.Source, baseDir)
		if err != nil {
			return Mount{}, fmt.Errorf("volume %q: %w", spec, err)
		}
		m.Type, m.Source, m.CreateHostPath = TypeBind, src, true
		if m.NoCopy {
			return Mount{}, fmt.Errorf("volume %q: nocopy applies to volumes, not bind mounts: %w", spec, ErrInvalid)
		}
	} else if m.Source != "" && !nameRE().MatchString(m.Source) {
		return Mount{}, fmt.Errorf("volume %q: %q is neither a volume name nor a path: %w", spec, m.Source, ErrInvalid)
	}
	if err := CheckTarget(m.Target); err != nil {
		return Mount{}, err
	}
	return m, nil
}

// ParseMountFlag parses `--mount type=bind|volume|tmpfs,source=..,target=..[,readonly]`
// with Docker's keys (src, dst, destination, ro, volume-nocopy, tmpfs-size, tmpfs-mode). A
// missing bind source is an error here, not created.
func ParseMountFlag(spec, baseDir string) (Mount, error) {
	m := Mount{Type: TypeVolume}
	for _, field := range strings.Split(spec, ",") {
		key, val, hasVal := strings.Cut(field, "=")
		boolVal := func() (bool, error) {
			if !hasVal {
				return true, nil
			}
			b, err := strconv.ParseBool(val)
			if err != nil {
				return false, fmt.Errorf("mount %q: %s=%q is not a boolean: %w", spec, key, val, ErrInvalid)
			}
			return b, nil
		}
		var err error
		switch strings.ToLower(key) {
		case "type":
			m.Type = val
		case "source", "src":
			m.Source = val
		case "target", "dst", "destination":
			m.Target = val
		case "readonly", "ro":
			m.ReadOnly, err = boolVal()
		case "volume-nocopy":
			m.NoCopy, err = boolVal()
		case "tmpfs-size":
			m.TmpfsSize, err = parseSize(val)
		case "tmpfs-mode":
			m.TmpfsMode, err = parseMode(val)
		default:
			err = fmt.Errorf("mount %q: unknown key %q: %w", spec, key, ErrInvalid)
		}
		if err != nil {
			return Mount{}, err
		}
	}
	switch m.Type {
	case TypeBind:
		if m.Source == "" {
			return Mount{}, fmt.Errorf("mount %q: a bind mount needs source=: %w", spec, ErrInvalid)
		}
		src, err := hostPath(m.Source, baseDir)
		if err != nil {
			return Mount{}, fmt.Errorf("mount %q: %w", spec, err)
		}
		if _, err := os.Stat(src); err != nil {
			return Mount{}, fmt.Errorf("mount %q: bind source path does not exist: %s: %w", spec, src, ErrInvalid)
		}
		m.Source = src
	case TypeVolume:
		if m.Source != "" && !nameRE().MatchString(m.Source) {
			return Mount{}, fmt.Errorf("mount %q: volume name %q: %w", spec, m.Source, ErrInvalid)
		}
	case TypeTmpfs:
		if m.Source != "" {
			return Mount{}, fmt.Errorf("mount %q: tmpfs takes no source: %w", spec, ErrInvalid)
		}
	default:
		return Mount{}, fmt.Errorf("mount %q: type %q (use bind, volume or tmpfs): %w", spec, m.Type, ErrInvalid)
	}
	if m.Type != TypeTmpfs && (m.TmpfsSize != 0 || m.TmpfsMode != 0) {
		return Mount{}, fmt.Errorf("mount %q: tmpfs options on a %s mount: %w", spec, m.Type, ErrInvalid)
	}
	if m.Type != TypeVolume && m.NoCopy {
		return Mount{}, fmt.Errorf("mount %q: volume-nocopy on a %s mount: %w", spec, m.Type, ErrInvalid)
	}
	if err := CheckTarget(m.Target); err != nil {
		return Mount{}, err
	}
	return m, nil
}

// ParseTmpfsFlag parses `--tmpfs /path[:size=64m,mode=1777]`.
func ParseTmpfsFlag(spec string) (Mount, error) {
	target, opts, _ := strings.Cut(spec, ":")
	m := Mount{Type: TypeTmpfs, Target: target}
	if opts != "" {
		for _, o := range strings.Split(opts, ",") {
			key, val, _ := strings.Cut(o, "=")
			var err error
			switch key {
			case "size":
				m.TmpfsSize, err = parseSize(val)
			case "mode":
				m.TmpfsMode, err = parseMode(val)
			default:
				err = fmt.Errorf("tmpfs %q: unknown option %q (use size=, mode=): %w", spec, key, ErrInvalid)
			}
			if err != nil {
				return Mount{}, err
			}
		}
	}
	if err := CheckTarget(m.Target); err != nil {
		return Mount{}, err
	}
	return m, nil
}

// isPath tells a bind source from a volume name, as Docker does.
func isPath(s string) bool {
	return strings.HasPrefix(s, "/") || strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../") ||
		strings.HasPrefix(s, "~") || s == "." || s == ".."
}

// hostPath makes a bind source absolute: ~ is the user's home, relative paths are against
// baseDir (the stack file's directory, or the working directory on the command line).
func hostPath(src, baseDir string) (string, error) {
	if src == "~" || strings.HasPrefix(src, "~/") {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("expand %s: %w", src, err)
		}
		src = filepath.Join(home, strings.TrimPrefix(src, "~"))
	}
	if !filepath.IsAbs(src) {
		src = filepath.Join(baseDir, src)
	}
	return filepath.Clean(src), nil
}

// parseSize parses a byte count with an optional k, m, g suffix (powers of 1024).
func parseSize(s string) (int64, error) {
	mult := int64(1)
	num := strings.ToLower(strings.TrimSuffix(strings.ToLower(s), "b"))
	switch {
	case strings.HasSuffix(num, "k"):
		mult, num = 1<<10, strings.TrimSuffix(num, "k")
	case strings.HasSuffix(num, "m"):
		mult, num = 1<<20, strings.TrimSuffix(num, "m")
	case strings.HasSuffix(num, "g"):
		mult, num = 1<<30, strings.TrimSuffix(num, "g")
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("size %q: use a positive number with an optional k, m or g suffix: %w", s, ErrInvalid)
	}
	return n * mult, nil
}

// parseMode parses an octal permission mode (1777).
func parseMode(s string) (os.FileMode, error) {
	n, err := strconv.ParseUint(s, 8, 32)
	if err != nil || n > 0o7777 {
		return 0, fmt.Errorf("mode %q: use an octal mode such as 1777: %w", s, ErrInvalid)
	}
	mode := os.FileMode(n & 0o777)
	if n&0o1000 != 0 {
		mode |= os.ModeSticky
	}
	if n&0o2000 != 0 {
		mode |= os.ModeSetgid
	}
	if n&0o4000 != 0 {
		mode |= os.ModeSetuid
	}
	return mode, nil
}
