package spec

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors of package spec, checked with errors.Is.
var (
	// ErrInvalid marks a stack file that does not load: the error is a *ValidationError
	// listing every problem found.
	ErrInvalid = errors.New("invalid stack file")
	// ErrNoStackFile is returned when no -f is given and no stack file is found.
	ErrNoStackFile = errors.New("no stack file found")
	// ErrUnknownService is returned when LoadOptions.Services names a service the file lacks.
	ErrUnknownService = errors.New("no such service")
)

// Position locates a node in a stack file. Line and Column are 1-based; 0 means unknown.
type Position struct {
	File   string `json:"file,omitempty"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
}

// String formats the position as file:line:column, leaving out the parts that are unknown.
func (p Position) String() string {
	s := p.File
	if s == "" {
		s = "<input>"
	}
	if p.Line > 0 {
		s += fmt.Sprintf(":%d", p.Line)
		if p.Column > 0 {
			s += fmt.Sprintf(":%d", p.Column)
		}
	}
	return s
}

// Problem is one reason a stack file is invalid: where, which key, and what is wrong.
type Problem struct {
	Pos  Position
	Path string // key path, e.g. services.web.ports[1]
	Msg  string
}

// String formats the problem as "file:line:col: path: message".
func (p Problem) String() string {
	if p.Pos.File == "" && p.Pos.Line == 0 {
		return p.Msg
	}
	if p.Path == "" {
		return p.Pos.String() + ": " + p.Msg
	}
	return p.Pos.String() + ": " + p.Path + ": " + p.Msg
}

// ValidationError lists every problem found in the stack files, in file order.
// errors.Is(err, ErrInvalid) holds for it.
type ValidationError struct {
	Problems []Problem
}

// Error prints one problem per line.
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Is reports whether target is ErrInvalid.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// Warning is something stack accepts but the user should know about: a compose key stack
// does not support (ignored), or a variable that is not set (interpolated as empty).
type Warning struct {
	Pos Position
	Msg string
}

// String formats the warning as "file:line: warning: message".
func (w Warning) String() string {
	pos := w.Pos
	pos.Column = 0
	return pos.String() + ": warning: " + w.Msg
}
