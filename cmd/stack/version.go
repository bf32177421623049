package main

import (
	"fmt"
	goruntime "runtime"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of stack",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "stack %s %s/%s %s\n", version, goruntime.GOOS, goruntime.GOARCH, goruntime.Version())
			return err
		},
	}
}
