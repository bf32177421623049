package volume

import "errors"

// Sentinel errors of package volume, checked with errors.Is.
var (
	// ErrNotFound: no volume of that name.
	ErrNotFound = errors.New("volume not found")
	// ErrInUse: containers still use the volume.
	ErrInUse = errors.New("volume is in use")
	// ErrInvalid: a malformed name, mount specification or option.
	ErrInvalid = errors.New("invalid")
	// ErrEscape: a path would leave the root it must stay in (a `..` in a target, a symlink
	// in the image pointing outside).
	ErrEscape = errors.New("path escapes its root")
)
