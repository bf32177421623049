package main

import (
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// globalOptions are the store root, which every verb accepts, and the project flags, which
// the stack's verbs (config, up, down, ps, ...) accept before or after the verb, as compose
// does. The docker-style groups (container, image, network, volume) do not take the
// project flags: there -f means --force or --follow and -p --publish, as in docker.
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

	root.AddCommand(
		newVersionCmd(),
		newContainerCmd(),
		newImageCmd(),
		newNetworkCmd(),
		newVolumeCmd(),
		newLsCmd(),
	)
	for _, c := range []*cobra.Command{
		newConfigCmd(),
		newUpCmd(),
		newDownCmd(),
		newDiffCmd(),
		newLogsCmd(),
		newPsCmd(),
		newStartCmd(),
		newStopCmd(),
		newRestartCmd(),
		newPauseCmd(),
		newUnpauseCmd(),
		newKillCmd(),
		newRmCmd(),
		newExecCmd(),
		newAttachCmd(),
		newRunCmd(),
		newPortCmd(),
		newTopCmd(),
		newImagesCmd(),
		newPullCmd(),
		newBuildCmd(),
		newEventsCmd(),
		newWaitCmd(),
	} {
		addProjectFlags(c)
		root.AddCommand(c)
	}
	return root
}

// addProjectFlags gives a stack verb the flags that name the stack. A verb whose own flag
// has the shorthand -f or -p (compose's `rm -f` force, `run -p` publish) keeps it, and the
// project flag is then only --file or --project-name there (before the verb, -f and -p
// still name the stack: hoistProjectFlags writes them in their long form).
func addProjectFlags(cmd *cobra.Command) {
	pf := cmd.PersistentFlags()
	short := func(s string) string {
		if cmd.Flags().ShorthandLookup(s) != nil {
			return ""
		}
		return s
	}
	pf.StringArrayVarP(&global.files, "file", short("f"), nil, "stack file (repeatable; - reads standard input)")
	pf.StringVarP(&global.project, "project-name", short("p"), "", "project name (default: name: in the file, else its directory)")
	pf.StringArrayVar(&global.envFiles, "env-file", nil, "file of variables for interpolation (default: .env beside the stack file)")
	pf.StringArrayVar(&global.profiles, "profile", nil, "enable services of this profile (repeatable)")
}

// projectFlagsWithValue are the flags hoistProjectFlags moves; each takes a value.
var projectFlagsWithValue = map[string]bool{
	"-f": true, "--file": true, "-p": true, "--project-name": true,
	"--env-file": true, "--profile": true, "--root": true,
}

// longProjectFlags are the long forms of the project flags' shorthands.
var longProjectFlags = map[string]string{"-f": "--file", "-p": "--project-name"}

// hoistProjectFlags moves the flags written before the verb (`stack -f a.yaml -p demo up`)
// to just after it, in their long form (`stack up --file a.yaml --project-name demo`), where
// the verb's own flag set parses them; the long form is unambiguous on verbs where -f or -p
// is a flag of their own. Anything else before the verb is left in place for cobra to report.
func hoistProjectFlags(args []string) []string {
	var lead []string
	i := 0
	for i < len(args) {
		a := args[i]
		name, value, hasValue := strings.Cut(a, "=")
		switch {
		case projectFlagsWithValue[name] && hasValue:
			if long, ok := longProjectFlags[name]; ok {
				a = long + "=" + value
			}
			lead = append(lead, a)
			i++
		case projectFlagsWithValue[a] && i+1 < len(args):
			if long, ok := longProjectFlags[a]; ok {
				a = long
			}
			lead = append(lead, a, args[i+1])
			i += 2
		case len(a) > 2 && (strings.HasPrefix(a, "-f") || strings.HasPrefix(a, "-p")) && a[1] != '-':
			lead = append(lead, longProjectFlags[a[:2]]+"="+a[2:]) // -fstack.yaml
			i++
		default:
			if i == len(args) || strings.HasPrefix(a, "-") || len(lead) == 0 {
				return args
			}
			out := append([]string{a}, lead...)
			return append(out, args[i+1:]...)
		}
	}
	return args
}
