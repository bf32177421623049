package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/stackhq/stack/runtime"
)

func newContainerStartCmd() *cobra.Command {
	var attach, interactive bool
	ao := attachOptions{sigProxy: true, closeStdin: true}
	cmd := &cobra.Command{
		Use:   "start [flags] CONTAINER...",
		Short: "Start stopped containers (their read/write layer is kept)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := openRuntime()
			if err != nil {
				return err
			}
			if attach || interactive {
				if len(args) != 1 {
					return fmt.Errorf("--attach: exactly one container")
				}
				if err := ao.check(); err != nil {
					return err
				}
				c, err := m.Get(args[0])
				if err != nil {
					return err
				}
				// Follow from the current end: what earlier runs wrote is not this run's.
				logFile, err := openLogAtEnd(c)
				if err != nil {
					return err
				}
				wait, err := m.StartWait(cmd.Context(), c.ID)
				if err != nil {
					logFile.Close()
					return startFailure(err)
				}
				ao.noStdin = !interactive
				return attachContainer(cmd, m, c, logFile, wait, ao)
			}
			return forEach(cmd, args, func(n string) error {
				if err := m.Start(cmd.Context(), n); err != nil {
					return startFailure(err)
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVarP(&attach, "attach", "a", false, "follow the output until the container exits")
	cmd.Flags().BoolVarP(&interactive, "interactive", "i", false, "attach standard input")
	ao.bindDetachKeys(cmd.Flags())
	return cmd
}

// stopTimeout returns the -t flag as a duration, or nil when not given (the container's own
// stop timeout applies).
func stopTimeout(cmd *cobra.Command, secs int) *time.Duration {
	if !cmd.Flags().Changed("time") {
		return nil
	}
	d := time.Duration(secs) * time.Second
	return &d
}

func newContainerStopCmd() *cobra.Command {
	var secs int
	cmd := &cobra.Command{
		Use:   "stop [flags] CONTAINER...",
		Short: "Stop containers: the stop signal, then SIGKILL after the grace period",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := openRuntime()
			if err != nil {
				return err
			}
			t := stopTimeout(cmd, secs)
			return forEach(cmd, args, func(n string) error { return m.Stop(cmd.Context(), n, t) })
		},
	}
	cmd.Flags().IntVarP(&secs, "time", "t", 10, "seconds to wait before SIGKILL")
	return cmd
}

func newContainerRestartCmd() *cobra.Command {
	var secs int
	cmd := &cobra.Command{
		Use:   "restart [flags] CONTAINER...",
		Short: "Stop and start containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := openRuntime()
			if err != nil {
				return err
			}
			t := stopTimeout(cmd, secs)
			return forEach(cmd, args, func(n string) error {
				if err := m.Restart(cmd.Context(), n, t); err != nil {
					return startFailure(err)
				}
				return nil
			})
		},
	}
	cmd.Flags().IntVarP(&secs, "time", "t", 10, "seconds to wait before SIGKILL")
	return cmd
}

func newContainerKillCmd() *cobra.Command {
	var signal string
	cmd := &cobra.Command{
		Use:   "kill [flags] CONTAINER...",
		Short: "Send a signal to the main process of containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sig, err := runtime.ParseSignal(signal)
			if err != nil {
				return fmt.Errorf("--signal: %w", err)
			}
			m, err := openRuntime()
			if err != nil {
				return err
			}
			return forEach(cmd, args, func(n string) error { return m.Kill(cmd.Context(), n, sig) })
		},
	}
	cmd.Flags().StringVarP(&signal, "signal", "s", "KILL", "signal name or number")
	return cmd
}

func newContainerPauseCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "pause CONTAINER...",
		Short: "Freeze every process of containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := openRuntime()
			if err != nil {
				return err
			}
			return forEach(cmd, args, func(n string) error { return m.Pause(cmd.Context(), n) })
		},
	}
}

func newContainerUnpauseCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "unpause CONTAINER...",
		Short: "Thaw paused containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := openRuntime()
			if err != nil {
				return err
			}
			return forEach(cmd, args, func(n string) error { return m.Unpause(cmd.Context(), n) })
		},
	}
}

func newContainerRmCmd() *cobra.Command {
	var o runtime.RemoveOptions
	cmd := &cobra.Command{
		Use:     "rm [flags] CONTAINER...",
		Aliases: []string{"remove"},
		Short:   "Remove containers (running ones with -f)",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := openEngine()
			if err != nil {
				return err
			}
			return forEach(cmd, args, func(n string) error { return e.Remove(cmd.Context(), n, o) })
		},
	}
	cmd.Flags().BoolVarP(&o.Force, "force", "f", false, "kill and remove a running container")
	cmd.Flags().BoolVarP(&o.Volumes, "volumes", "v", false, "remove the container's anonymous volumes")
	return cmd
}

func newContainerWaitCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "wait CONTAINER...",
		Short: "Wait for containers to stop and print their exit codes",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := openRuntime()
			if err != nil {
				return err
			}
			for _, n := range args {
				code, err := m.Wait(cmd.Context(), n)
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), code)
			}
			return nil
		},
	}
}
