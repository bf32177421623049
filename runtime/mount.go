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
func (e *MountError) Error() string {
	op := e.Op
	if op == "" {
		op = "mount"
	}
	if op == "umount" {
		return fmt.Sprintf("umount %s (flags %#x): %v", e.Target, e.Flags, e.Err)
	}
	return fmt.Sprintf("mount %s on %s (type %q, flags %#x, data %q): %v", e.Source, e.Target, e.FSType, e.Flags, e.Data, e.Err)
}

// Unwrap returns the errno.
func (e *MountError) Unwrap() error { return e.Err }
