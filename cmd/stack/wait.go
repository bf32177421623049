package main

import (
	"fmt"
	"sync"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"
)

func newWaitCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "wait SERVICE...",
		Short: "Block until the services' containers exit; exit with the first non-zero exit code",
		Long: `Wait until every container of the named services has stopped for good (a container
that its restart policy restarts is waited for until it stops), printing "NAME exited
with code N" as each one does. The exit status is the first non-zero exit code seen, or
0 when all of them exited with 0.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, sel, err := openSelection(cmd, args, false)
			if err != nil {
				return err
			}
			var mu sync.Mutex
			first := 0
			var g errgroup.Group
			for _, svc := range sel.desired.Services {
				if len(sel.containers[svc.Name]) == 0 {
					return fmt.Errorf("service %s has no container to wait for (create it with `stack up -d %s`)", svc.Name, svc.Name)
				}
				for _, c := range sel.containers[svc.Name] {
					g.Go(func() error {
						code, err := s.engine.Containers.Wait(cmd.Context(), c.ID)
						if err != nil {
							return fmt.Errorf("service %s: wait for %s: %w", svc.Name, c.Name, err)
						}
						mu.Lock()
						defer mu.Unlock()
						fmt.Fprintf(cmd.OutOrStdout(), "%s exited with code %d\n", c.Name, code)
						if first == 0 {
							first = code
						}
						return nil
					})
				}
			}
			if err := g.Wait(); err != nil {
				return err
			}
			if first != 0 {
				return &exitError{code: first}
			}
			return nil
		},
	}
}
