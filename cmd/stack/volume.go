package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/stackhq/stack/runtime/volume"
)

func newVolumeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "volume",
		Short: "Manage named volumes",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newVolumeCreateCmd(), newVolumeLsCmd(), newVolumeInspectCmd(), newVolumeRmCmd(), newVolumePruneCmd())
	return cmd
}

func newVolumeCreateCmd() *cobra.Command {
	var labels []string
	cmd := &cobra.Command{
		Use:   "create [NAME]",
		Short: "Create a volume (no NAME: an anonymous one); an existing volume is kept",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := parseLabels(labels)
			if err != nil {
				return err
			}
			s, err := volume.Open(global.root)
			if err != nil {
				return err
			}
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			v, err := s.Create(name, l)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), v.Name)
			return err
		},
	}
	cmd.Flags().StringArrayVar(&labels, "label", nil, "label KEY=VALUE (repeatable)")
	return cmd
}

func newVolumeLsCmd() *cobra.Command {
	var format string
	var quiet bool
	cmd := &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List volumes",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := volume.Open(global.root)
			if err != nil {
				return err
			}
			vols, err := s.List()
			if err != nil {
				return err
			}
			switch {
			case format == "json":
				return writeJSON(cmd.OutOrStdout(), vols)
			case quiet:
				for _, v := range vols {
					fmt.Fprintln(cmd.OutOrStdout(), v.Name)
				}
				return nil
			case format == "" || format == "table":
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 3, ' ', 0)
				fmt.Fprintln(tw, "NAME\tCONTAINERS\tANONYMOUS\tMOUNTPOINT")
				for _, v := range vols {
					fmt.Fprintf(tw, "%s\t%d\t%v\t%s\n", v.Name, len(v.Users), v.Anonymous, v.Mountpoint)
				}
				return tw.Flush()
			}
			return fmt.Errorf("--format %q: use table or json", format)
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print names only")
	return cmd
}

func newVolumeInspectCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "inspect NAME...",
		Short: "Show volumes as JSON",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := volume.Open(global.root)
			if err != nil {
				return err
			}
			var out []*volume.Volume
			for _, name := range args {
				v, err := s.Get(name)
				if err != nil {
					return err
				}
				out = append(out, v)
			}
			return writeJSON(cmd.OutOrStdout(), out)
		},
	}
}

func newVolumeRmCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "rm NAME...",
		Aliases: []string{"remove"},
		Short:   "Remove volumes and their data (refused while a container uses one)",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := sweepEngine(cmd.Context()); err != nil {
				return err
			}
			s, err := volume.Open(global.root)
			if err != nil {
				return err
			}
			for _, name := range args {
				if err := s.Remove(name); err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), name)
			}
			return nil
		},
	}
}

func newVolumePruneCmd() *cobra.Command {
	var all, force bool
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Remove unused anonymous volumes (with --all, unused named ones too)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			what := "all anonymous local volumes not used by at least one container"
			if all {
				what = "all local volumes not used by at least one container"
			}
			if !force && !confirmPrune(cmd.InOrStdin(), cmd.OutOrStdout(), what) {
				return nil
			}
			if err := sweepEngine(cmd.Context()); err != nil {
				return err
			}
			s, err := volume.Open(global.root)
			if err != nil {
				return err
			}
			removed, err := s.Prune(all)
			for _, name := range removed {
				fmt.Fprintln(cmd.OutOrStdout(), name)
			}
			return err
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "remove unused named volumes too")
	cmd.Flags().BoolVarP(&force, "force", "f", false, "do not ask for confirmation")
	return cmd
}
