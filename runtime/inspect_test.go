package runtime

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestInspectDockerShape: the fields scripts read from `docker inspect` are there, spelled
// and shaped as Docker spells them.
func TestInspectDockerShape(t *testing.T) {
	c := &Container{
		ID: strings.Repeat("ab", 32), Name: "web", ImageID: "sha256:" + strings.Repeat("c", 64),
		Spec: Spec{Image: "app:1", Ports: []PortMapping{
			{HostIP: "127.0.0.1", HostPort: 8080, ContainerPort: 80},
			{ContainerPort: 53, Protocol: "udp"},
		}},
		Image: ImageConfig{ExposedPorts: []string{"443/tcp", "9000"}, Volumes: []string{"/data"}, StopSignal: "SIGQUIT"},
		Ports: []PortMapping{{HostIP: "127.0.0.1", HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}},
	}
	data, err := json.Marshal(c.Inspect())
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Platform string
		Image    string
		Config   struct {
			StopSignal   string
			ExposedPorts map[string]struct{}
			Volumes      map[string]struct{}
		}
		HostConfig struct {
			PortBindings map[string][]struct{ HostIp, HostPort string }
		}
		NetworkSettings struct {
			Ports map[string][]struct{ HostIp, HostPort string }
		}
	}
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if got.Platform != "linux" || got.Image != c.ImageID {
		t.Errorf("Platform %q, Image %q", got.Platform, got.Image)
	}
	if got.Config.StopSignal != "SIGQUIT" {
		t.Errorf("StopSignal = %q, want SIGQUIT (the name, as docker prints it)", got.Config.StopSignal)
	}
	for _, p := range []string{"80/tcp", "53/udp", "443/tcp", "9000/tcp"} {
		if _, ok := got.Config.ExposedPorts[p]; !ok || len(got.Config.ExposedPorts) != 4 {
			t.Errorf("ExposedPorts = %v, want %s among 4", got.Config.ExposedPorts, p)
		}
	}
	if _, ok := got.Config.Volumes["/data"]; !ok {
		t.Errorf("Volumes = %v", got.Config.Volumes)
	}
	if b := got.HostConfig.PortBindings; len(b) != 2 || b["80/tcp"][0].HostPort != "8080" || b["80/tcp"][0].HostIp != "127.0.0.1" || b["53/udp"][0].HostPort != "" {
		t.Errorf("PortBindings = %+v", b)
	}
	if p := got.NetworkSettings.Ports; len(p) != 1 || p["80/tcp"][0].HostPort != "8080" {
		t.Errorf("NetworkSettings.Ports = %+v", p)
	}
}
