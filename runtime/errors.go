package runtime

import "errors"

// Sentinel errors of the runtime, checked with errors.Is. Wrapped errors name the container,
// path or syscall; cmd maps them to messages and exit codes.
var (
	// ErrNotFound: no container has this ID, ID prefix or name.
	ErrNotFound = errors.New("no such container")
	// ErrAmbiguous: an ID prefix matches more than one container.
	ErrAmbiguous = errors.New("ambiguous container ID prefix")
	// ErrNameInUse: another container already has this name.
	ErrNameInUse = errors.New("container name already in use")
	// ErrInvalidSpec: the Spec cannot describe a container (bad name, sysctl, policy, ...).
	ErrInvalidSpec = errors.New("invalid container spec")
	// ErrNotRunning: the operation needs a running container.
	ErrNotRunning = errors.New("container is not running")
	// ErrRunning: the operation needs a stopped container (rm without force, ...).
	ErrRunning = errors.New("container is running")
	// ErrPaused: the container is paused (unpause it first).
	ErrPaused = errors.New("container is paused")
	// ErrRestarting: the container's process ended and its restart policy starts it again
	// after a back-off; there is no process to attach to until then.
	ErrRestarting = errors.New("container is restarting")
	// ErrNotPaused: unpause of a container that is not paused.
	ErrNotPaused = errors.New("container is not paused")
	// ErrImage: the container's image is missing or unusable.
	ErrImage = errors.New("image not usable")
	// ErrExecNotFound: the command is not in the container's $PATH (exit code 127).
	ErrExecNotFound = errors.New("executable file not found in $PATH")
	// ErrExecPermission: the command is not executable (exit code 126).
	ErrExecPermission = errors.New("permission denied executing command")
	// ErrUnknownUser: the user or group is not in the image's /etc/passwd or /etc/group.
	ErrUnknownUser = errors.New("unable to find user")
	// ErrStart: init failed to set the container up (mounts, namespaces, limits).
	ErrStart = errors.New("container setup failed")
	// ErrNotOwner: a monitor found its container run by another monitor (its own start
	// was interrupted and a later one took over).
	ErrNotOwner = errors.New("container is run by another monitor")
)
