package runtime

import (
	"fmt"
)

// MountError is a failed mount or umount with all its arguments, so the message says what
// was mounted where and how.
type MountError struct {
	Op     string // "mount" (default) or "umount"
	Source string
	Target string
	FSType string
	Flags  uintptr
	Data   string
	Err    error
}

// Error prints the operation with all its arguments.
func (e *MountError) Error() string { return e.describe() + ": " + e.Err.Error() }

// describe is the operation with its arguments, without the outcome.
func (e *MountError) describe() string {
	if e.Op == "umount" {
		return fmt.Sprintf("umount %s (flags %#x)", e.Target, e.Flags)
	}
	return fmt.Sprintf("mount %s on %s (type %q, flags %#x, data %q)", e.Source, e.Target, e.FSType, e.Flags, e.Data)
}

// Unwrap returns the errno.
func (e *MountError) Unwrap() error { return e.Err }
