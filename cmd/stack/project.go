package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/stackhq/stack/spec"
)

// loadProject loads the stack named by the global flags (-f, -p, --env-file, --profile),
// activating the named services whatever their profiles. Warnings go to standard error as
// "file:line: warning: ..."; an invalid file prints every problem, one per line, and
// returns an error that exits with status 1.
func loadProject(cmd *cobra.Command, services []string) (*spec.Project, error) {
	p, err := spec.Load(spec.LoadOptions{
		Files:    global.files,
		Environ:  os.Environ(),
		EnvFiles: global.envFiles,
		Project:  global.project,
		Profiles: global.profiles,
		Services: services,
		Stdin:    cmd.InOrStdin(),
	})
	stderr := cmd.ErrOrStderr()
	if p != nil {
		for _, w := range p.Warnings {
			fmt.Fprintln(stderr, w)
		}
	}
	var verr *spec.ValidationError
	if errors.As(err, &verr) {
		for _, prob := range verr.Problems {
			fmt.Fprintln(stderr, prob)
		}
		n := len(verr.Problems)
		plural := "s"
		if n == 1 {
			plural = ""
		}
		return nil, &exitError{code: 1, err: fmt.Errorf("%w: %d problem%s", spec.ErrInvalid, n, plural)}
	}
	if errors.Is(err, spec.ErrNoStackFile) {
		return nil, fmt.Errorf("%w; name one with -f", err)
	}
	return p, err
}
