package runtime

import (
	"context"
	"os"
)

// Hooks connect the monitor to the packages that keep state about a container outside the
// runtime (networks, volumes), which the monitor does not import.
type Hooks struct {
	// Release runs when the monitor auto-removes a container (--rm), before the runtime
	// deletes it: the network namespace still exists, so endpoints can be detached, and
	// volumes can drop the container as a user. root is the store root.
	Release func(ctx context.Context, root string, c *Container) error
}

// RunRole runs one of the binary's internal roles when args (os.Args) name one, and then
// exits the process; otherwise it returns and the CLI proceeds. cmd/stack calls it first in
// main, before cobra, and integration tests call it in TestMain, because the runtime
// re-executes its own binary (/proc/self/exe) for them:
//
//	stack monitor <container-dir> <run-dir>   the per-container supervisor (see monitor.go)
//
// It expects the file descriptors its starter sets up, so running it by hand fails.
// hooks (at most one) give the monitor what other packages must do when it removes a
// container by itself (--rm).
func RunRole(args []string, hooks ...Hooks) {
	if len(args) < 3 {
		return
	}
	switch {
	case args[1] == "monitor" && len(args) == 4:
		var h Hooks
		if len(hooks) > 0 {
			h = hooks[0]
		}
		runMonitor(args[2], args[3], h)
		os.Exit(0)
	}
}
