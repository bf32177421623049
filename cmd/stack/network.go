package main

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/stackhq/stack/network"
	"github.com/stackhq/stack/runtime"
)

// stackRunDir is the volatile state directory of a store root: /run/stack for the default
// root, else <root>/run, so tests with a temp root are isolated.
func openNetworks() (*network.Manager, error) {
	return network.Open(global.root, runtime.RunDir(global.root))
}

func newNetworkCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "network",
		Short: "Manage networks (bridges with their own subnet, NAT and DNS)",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newNetworkCreateCmd(), newNetworkLsCmd(), newNetworkInspectCmd(), newNetworkRmCmd(), newNetworkPruneCmd())
	return cmd
}

type networkCreateOptions struct {
	subnet, gateway string
	internal        bool
	labels          []string
}

func newNetworkCreateCmd() *cobra.Command {
	var o networkCreateOptions
	cmd := &cobra.Command{
		Use:   "create [flags] NAME",
		Short: "Create a network (idempotent: an existing one with the same settings is kept)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			labels, err := parseLabels(o.labels)
			if err != nil {
				return err
			}
			m, err := openNetworks()
			if err != nil {
				return err
			}
			n, err := m.Ensure(cmd.Context(), network.Config{Name: args[0], Subnet: o.subnet, Gateway: o.gateway, Internal: o.internal, Labels: labels})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), n.Name)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.subnet, "subnet", "", "subnet in CIDR form (default: a free /24 from 10.89.0.0/16 on)")
	f.StringVar(&o.gateway, "gateway", "", "gateway address (default: the subnet's first address)")
	f.BoolVar(&o.internal, "internal", false, "no route out of the network")
	f.StringArrayVar(&o.labels, "label", nil, "label KEY=VALUE (repeatable)")
	return cmd
}

// parseLabels turns --label KEY=VALUE flags into a map.
func parseLabels(in []string) (map[string]string, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, l := range in {
		k, v, _ := strings.Cut(l, "=")
		if k == "" {
			return nil, fmt.Errorf("--label %q: use KEY=VALUE", l)
		}
		out[k] = v
	}
	return out, nil
}

func newNetworkLsCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List networks",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := openNetworks()
			if err != nil {
				return err
			}
			nets, err := m.List()
			if err != nil {
				return err
			}
			switch format {
			case "json":
				return writeJSON(cmd.OutOrStdout(), nets)
			case "", "table":
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 3, ' ', 0)
				fmt.Fprintln(tw, "NAME\tSUBNET\tGATEWAY\tBRIDGE\tCONTAINERS\tINTERNAL")
				for _, n := range nets {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%v\n", n.Name, n.Subnet, n.Gateway, n.Bridge, len(n.Endpoints), n.Internal)
				}
				return tw.Flush()
			}
			return fmt.Errorf("--format %q: use table or json", format)
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	return cmd
}

func newNetworkInspectCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "inspect NAME...",
		Short: "Show networks as JSON, with their endpoints",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := openNetworks()
			if err != nil {
				return err
			}
			var out []*network.Network
			for _, name := range args {
				n, err := m.Get(name)
				if err != nil {
					return err
				}
				out = append(out, n)
			}
			return writeJSON(cmd.OutOrStdout(), out)
		},
	}
}

func newNetworkRmCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "rm NAME...",
		Aliases: []string{"remove"},
		Short:   "Remove networks no container is connected to",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := sweepEngine(cmd.Context()); err != nil {
				return err
			}
			m, err := openNetworks()
			if err != nil {
				return err
			}
			for _, name := range args {
				if err := m.Remove(cmd.Context(), name); err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), name)
			}
			return nil
		},
	}
}

func newNetworkPruneCmd() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Remove every network no container is connected to",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !force && !confirmPrune(cmd.InOrStdin(), cmd.OutOrStdout(), "all networks not used by at least one container") {
				return nil
			}
			if err := sweepEngine(cmd.Context()); err != nil {
				return err
			}
			m, err := openNetworks()
			if err != nil {
				return err
			}
			nets, err := m.List()
			if err != nil {
				return err
			}
			for _, n := range nets {
				if len(n.Endpoints) > 0 {
					continue
				}
				if err := m.Remove(cmd.Context(), n.Name); err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), n.Name)
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "do not ask for confirmation")
	return cmd
}

// runNetworkRole runs one of the network's hidden roles, `stack dns` (a network's DNS
// server, network.DNSMain) and `stack netreap` (the reaper of an AutoRemove network,
// network.ReaperMain); args[0] names the role.
func runNetworkRole(role func([]string) error, args []string) int {
	if err := role(args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "stack %s: %v\n", args[0], err)
		return 1
	}
	return 0
}
