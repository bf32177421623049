package main

import (
	"fmt"
	"net"
	"strconv"

	"github.com/spf13/cobra"
)

func newContainerPortCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "port CONTAINER [PORT[/PROTO]]",
		Short: "List a container's published ports (80/tcp -> 0.0.0.0:8080)",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := openRuntime()
			if err != nil {
				return err
			}
			c, err := m.Get(args[0])
			if err != nil {
				return err
			}
			found := false
			for _, p := range c.Ports {
				if len(args) == 2 && !portMatches(p, args[1]) {
					continue
				}
				found = true
				ip := p.HostIP
				if ip == "" {
					ip = "0.0.0.0"
				}
				hostPort := net.JoinHostPort(ip, strconv.Itoa(int(p.HostPort)))
				if len(args) == 2 {
					fmt.Fprintln(cmd.OutOrStdout(), hostPort)
				} else {
					fmt.Fprintf(cmd.OutOrStdout(), "%d/%s -> %s\n", p.ContainerPort, p.Protocol, hostPort)
				}
			}
			if len(args) == 2 && !found {
				return fmt.Errorf("no public port %s published for %s", args[1], c.Name)
			}
			return nil
		},
	}
}
