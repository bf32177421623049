package build

import (
	"errors"
	"fmt"
)

// Sentinel errors of the build package, checked with errors.Is.
var (
	// ErrSyntax marks a Dockerfile that cannot be parsed.
	ErrSyntax = errors.New("dockerfile syntax error")
	// ErrUnsupported marks an instruction, flag or form that stack does not implement.
	ErrUnsupported = errors.New("not supported")
	// ErrSourceNotFound marks a COPY/ADD source that matches nothing in the build context.
	ErrSourceNotFound = errors.New("source not found in build context")
	// ErrOutsideContext marks a COPY/ADD source that points outside the build context.
	ErrOutsideContext = errors.New("path outside the build context")
	// ErrUnknownStage marks a --target or stage reference that names no stage.
	ErrUnknownStage = errors.New("unknown build stage")
	// ErrRunFailed marks a RUN step whose command exited with a non-zero code.
	ErrRunFailed = errors.New("run step failed")
	// ErrUnknownUser marks a --chown user or group missing from the image's passwd/group.
	ErrUnknownUser = errors.New("unknown user or group")
	// ErrBadVariable marks a ${VAR:?message} substitution of an unset variable.
	ErrBadVariable = errors.New("bad variable substitution")
)

// LineError attaches the Dockerfile location to an error: "Dockerfile:12: ...".
type LineError struct {
	File string // Dockerfile name as the user gave it
	Line int    // 1-based first line of the instruction
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }

func (e *LineError) Unwrap() error { return e.Err }

// RunError is the error of a RUN step whose command failed: its exit code and the tail of
// its output, so the user sees why without rerunning the build.
type RunError struct {
	Command  string // the command as the Dockerfile gave it
	ExitCode int
	Output   string // last lines of combined stdout/stderr
}

func (e *RunError) Error() string {
	msg := fmt.Sprintf("RUN %s: exit code %d", e.Command, e.ExitCode)
	if e.Output != "" {
		msg += "\n" + e.Output
	}
	return msg
}

func (e *RunError) Unwrap() error { return ErrRunFailed }
