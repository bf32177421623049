package main

import (
	"os"

	"github.com/spf13/cobra"
)

// globalOptions are the flags every verb accepts, before or after the verb (compose style).
type globalOptions struct {
	root     string   // store root (--root, STACK_ROOT)
	files    []string // stack files (-f), "-" for standard input
	project  string   // project name (-p)
	envFiles []string // --env-file
	profiles []string // --profile
}

var global globalOptions

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "stack",
		Short:         "Run multi-container stacks from a compose-compatible stack file, on stack's own runtime",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	defRoot := os.Getenv("STACK_ROOT")
	if defRoot == "" {
		defRoot = "/var/lib/stack"
	}
	pf := root.PersistentFlags()
	pf.StringVar(&global.root, "root", defRoot, "store root (env STACK_ROOT)")
	pf.StringArrayVarP(&global.files, "file", "f", nil, "stack file (repeatable; - reads standard input)")
	pf.StringVarP(&global.project, "project-name", "p", "", "project name (default: name: in the file, else its directory)")
	pf.StringArrayVar(&global.envFiles, "env-file", nil, "file of variables for interpolation (default: .env beside the stack file)")
	pf.StringArrayVar(&global.profiles, "profile", nil, "enable services of this profile (repeatable)")

	root.AddCommand(
		newVersionCmd(),
		newContainerCmd(),
		newImageCmd(),
		newNetworkCmd(),
		newVolumeCmd(),
	)
	return root
}
