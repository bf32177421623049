package runtime

import (
	"fmt"
	"os"
)

// RunRole runs one of the binary's internal roles when args (os.Args) name one, and then
// exits the process; otherwise it returns and the CLI proceeds. cmd/stack calls it first in
// main, before cobra, and integration tests call it in TestMain, because the runtime
// re-executes its own binary (/proc/self/exe) for them:
//
//	stack monitor <container-dir> <run-dir>   the per-container supervisor (see monitor.go)
//	stack init <container-dir>                PID 1 in the new namespaces until execve (init.go)
//
// Both expect the file descriptors their parent sets up, so running them by hand fails.
func RunRole(args []string) {
	if len(args) < 3 {
		return
	}
	switch {
	case args[1] == "monitor" && len(args) == 4:
		runMonitor(args[2], args[3])
		os.Exit(0)
	case args[1] == "init" && len(args) == 3:
		if _, err := os.Stat(fmt.Sprintf("/proc/self/fd/%d", initErrFd)); err != nil {
			return // not started by a monitor: let the CLI report an unknown command
		}
		runInit(args[2])
		os.Exit(125)
	}
}
