package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/stackhq/stack/runtime"
)

func newTopCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "top [SERVICE...]",
		Short: "List the processes of the stack's running containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			s, sel, err := openSelection(cmd, args, false)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			shown := 0
			var errs []error
			for _, svc := range sel.desired.Services {
				for _, c := range sel.containers[svc.Name] {
					if !c.Running() {
						continue
					}
					ps, err := s.engine.Containers.Top(c.ID)
					if errors.Is(err, runtime.ErrNotRunning) {
						continue // stopped meanwhile
					}
					if err != nil {
						errs = append(errs, fmt.Errorf("service %s: top %s: %w", svc.Name, c.Name, err))
						continue
					}
					if shown > 0 {
						fmt.Fprintln(out)
					}
					shown++
					fmt.Fprintln(out, c.Name)
					if err := printTop(out, ps); err != nil {
						return err
					}
				}
			}
			if shown == 0 && len(errs) == 0 {
				fmt.Fprintln(cmd.ErrOrStderr(), "no running container (stack ps -a shows them all)")
			}
			return errors.Join(errs...)
		},
	}
}
