package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

type stackExecOptions struct {
	execOptions
	noTTY bool
	index int
}

func newExecCmd() *cobra.Command {
	o := &stackExecOptions{}
	cmd := &cobra.Command{
		Use:   "exec [flags] SERVICE COMMAND [ARG...]",
		Short: "Run a command in a running container of a service; its exit code is passed through",
		Long: `Run a command in replica --index (default 1) of a service. Standard input is connected
(-i, on by default); a pseudo-terminal is allocated when standard input is a terminal,
unless -T. The exit status is the command's; 126 when it cannot be executed, 127 when it
is not found.`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.index < 1 {
				return fmt.Errorf("--index %d: replicas are numbered from 1", o.index)
			}
			s, err := openStack(cmd, args[:1], false)
			if err != nil {
				return err
			}
			c, err := s.runningServiceContainer(args[0], o.index)
			if err != nil {
				return err
			}
			o.tty = !o.noTTY && term.IsTerminal(int(os.Stdin.Fd()))
			return runExec(cmd, s.engine.Containers, c.ID, args[1:], o.execOptions)
		},
	}
	cmd.Flags().SetInterspersed(false)
	f := cmd.Flags()
	f.BoolVarP(&o.noTTY, "no-TTY", "T", false, "do not allocate a pseudo-terminal (default: one when standard input is a terminal)")
	f.BoolVarP(&o.interactive, "interactive", "i", true, "connect standard input")
	o.bindProcess(f)
	f.IntVar(&o.index, "index", 1, "replica of the service, when it has several")
	return cmd
}
