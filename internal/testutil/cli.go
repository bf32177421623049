package testutil

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// StackBin returns the binary under test for end-to-end tests, skipping visibly when
// STACK_BIN is not set (make e2e sets it).
func StackBin(t testing.TB) string {
	t.Helper()
	bin := os.Getenv("STACK_BIN")
	if bin == "" {
		t.Skip("SKIP: STACK_BIN is not set (make e2e sets it)")
	}
	return bin
}

// Stack runs the binary under test with store root root and returns its standard output,
// standard error and exit code. Failing to start the binary fails the test.
func Stack(t testing.TB, root string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(StackBin(t), append([]string{"--root", root}, args...)...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run %s: %v", cmd.Path, err)
	}
	return out.String(), errOut.String(), code
}
