package reconcile

import "errors"

// Sentinel errors of planning and applying; wrapped with the names involved.
var (
	// ErrCycle: depends_on entries form a cycle (the message names it).
	ErrCycle = errors.New("dependency cycle")
	// ErrUnknownDependency: depends_on names a service that is not in the stack.
	ErrUnknownDependency = errors.New("unknown dependency")
	// ErrExternalMissing: an external network or volume does not exist.
	ErrExternalMissing = errors.New("external resource missing")
	// ErrImageMissing: an image is missing and the pull policy forbids pulling it.
	ErrImageMissing = errors.New("image missing")
	// ErrDependencyFailed: a service was not started because a dependency failed.
	ErrDependencyFailed = errors.New("dependency failed")
)
