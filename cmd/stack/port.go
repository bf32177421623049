package main

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

type portOptions struct {
	index    int
	protocol string
}

func newPortCmd() *cobra.Command {
	o := &portOptions{}
	cmd := &cobra.Command{
		Use:   "port [flags] SERVICE PRIVATE_PORT[/PROTO]",
		Short: "Print the host address a service's container port is published on",
		Args:  cobra.ExactArgs(2),
		RunE:  func(cmd *cobra.Command, args []string) error { return runPort(cmd, o, args[0], args[1]) },
	}
	cmd.Flags().IntVar(&o.index, "index", 1, "replica of the service, when it has several")
	cmd.Flags().StringVar(&o.protocol, "protocol", "tcp", "tcp or udp (or write PORT/PROTO)")
	return cmd
}

func runPort(cmd *cobra.Command, o *portOptions, service, port string) error {
	num, proto, hasProto := strings.Cut(port, "/")
	if !hasProto {
		proto = o.protocol
	}
	if n, err := strconv.Atoi(num); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %q: want a port number 1-65535, optionally with /tcp or /udp", port)
	}
	if proto != "tcp" && proto != "udp" {
		return fmt.Errorf("--protocol %q: want tcp or udp", proto)
	}
	s, err := openStack(cmd, []string{service}, false)
	if err != nil {
		return err
	}
	oc, err := s.serviceContainer(service, o.index)
	if err != nil {
		return err
	}
	c, err := s.engine.Containers.Get(oc.ID)
	if err != nil {
		return err
	}
	var published []string
	for _, p := range c.Ports {
		if portMatches(p, num+"/"+proto) {
			ip := p.HostIP
			if ip == "" {
				ip = "0.0.0.0"
			}
			fmt.Fprintln(cmd.OutOrStdout(), net.JoinHostPort(ip, strconv.Itoa(int(p.HostPort))))
			return nil
		}
		published = append(published, fmt.Sprintf("%d/%s", p.ContainerPort, p.Protocol))
	}
	if len(published) == 0 {
		return fmt.Errorf("service %s: %s publishes no port (add ports: to the service, then stack up)", service, c.Name)
	}
	return fmt.Errorf("service %s: port %s/%s of %s is not published (published: %s)", service, num, proto, c.Name, strings.Join(published, ", "))
}
