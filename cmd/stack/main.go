// Command stack is a declarative multi-container orchestrator with its own container runtime.
//
// Exit codes: 0 success; 1 an error (the message says what and where); 2 `stack diff` found
// changes to make; 125 the container could not be created or started; 126 the command in the
// container is not executable; 127 the command was not found in the container.
package main

import (
	"errors"
	"fmt"
	"os"
	goruntime "runtime"

	"github.com/stackhq/stack/engine"
	"github.com/stackhq/stack/network"
	"github.com/stackhq/stack/runtime"
)

// The main goroutine stays on the main OS thread for the life of the process. Joining a
// container's namespaces (exec) moves a locked goroutine's thread into them and lets that
// thread die afterwards; Go cannot retire the main thread, so it must never be the one moved.
func init() { goruntime.LockOSThread() }

func main() {
	// The runtime re-executes this binary for its internal roles (the per-container monitor,
	// the container's init); they run and exit here, before cobra or anything else starts.
	runtime.RunRole(os.Args, runtime.Hooks{Release: engine.Release})
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case network.DNSRole:
			os.Exit(runNetworkRole(network.DNSMain, os.Args[1:]))
		case network.ReaperRole:
			os.Exit(runNetworkRole(network.ReaperMain, os.Args[1:]))
		}
	}
	args := hoistProjectFlags(os.Args[1:])
	root := newRootCmdFor(args)
	root.SetArgs(args)
	err := root.Execute()
	os.Exit(exitCode(err))
}

// exitError carries a specific exit code through cobra (for `diff`, `exec`, `run`).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// exitCode prints err (unless it is a silent exit code) and returns the process exit code.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(os.Stderr, "stack:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(os.Stderr, "stack:", err)
	return 1
}
