package spec

import (
	"strings"
	"testing"
)

func hashOf(t *testing.T, yaml string, environ ...string) string {
	t.Helper()
	return svc(t, mustLoad(t, yaml, LoadOptions{Environ: environ, Project: "p"}), "web").ConfigHash()
}

func TestConfigHashStable(t *testing.T) {
	base := hashOf(t, `
services:
  web:
    image: nginx
    ports: ["80:80", "443:443"]
    environment: {A: "1", B: "2"}
    cap_add: [NET_ADMIN, SYS_TIME]
`)
	if !strings.HasPrefix(base, "v1:") || len(base) != 3+64 {
		t.Fatalf("hash %q: want v1: and 64 hex digits", base)
	}
	same := map[string]string{
		"key order and flow style": `{services: {web: {environment: [B=2, A=1], cap_add: [sys_time, CAP_NET_ADMIN], ports: ["443:443", {target: 80, published: 80}], image: nginx}}}`,
		"depends_on and profiles":  "services:\n  web:\n    image: nginx\n    profiles: [x]\n    depends_on: [db]\n    ports: [\"80:80\", \"443:443\"]\n    environment: {A: '1', B: '2'}\n    cap_add: [NET_ADMIN, SYS_TIME]\n  db:\n    image: a\n    profiles: [x]\n",
	}
	for name, y := range same {
		p := mustLoad(t, y, LoadOptions{Project: "p", Profiles: []string{"x"}})
		if got := svc(t, p, "web").ConfigHash(); got != base {
			t.Errorf("%s: hash changed", name)
		}
	}
	if hashOf(t, "services: {web: {image: a, ports: ['80']}}") != hashOf(t, "services: {web: {image: a, ports: ['80'], deploy: {replicas: 5}}}") {
		t.Errorf("replicas changed the hash")
	}
	interp := "services:\n  web:\n    image: ${IMG}\n    ports: [\"${P}:80\", \"443:443\"]\n    environment: {A: '${ONE:-1}', B: '2'}\n    cap_add: [NET_ADMIN, SYS_TIME]\n"
	if got := hashOf(t, interp, "IMG=nginx", "P=80"); got != base {
		t.Errorf("interpolated values: hash changed")
	}
}

func TestConfigHashChanges(t *testing.T) {
	const base = "services:\n  web:\n    image: nginx\n"
	h0 := hashOf(t, base)
	changes := []string{
		"    image: nginx:2\n",
		"    ports: [\"80:80\"]\n",
		"    environment: {A: '1'}\n",
		"    command: [run]\n",
		"    command: []\n",
		"    volumes: [/data]\n",
		"    tmpfs: [/run]\n",
		"    healthcheck: {test: [CMD, x]}\n",
		"    restart: always\n",
		"    mem_limit: 1g\n",
		"    labels: {a: b}\n",
		"    user: nobody\n",
		"    networks: {default: {aliases: [x]}}\n",
		"    init: false\n",
		"    stop_grace_period: 3s\n",
	}
	seen := map[string]string{h0: "base"}
	for _, c := range changes {
		y := strings.Replace(base, "    image: nginx\n", "    image: nginx\n"+c, 1)
		if strings.HasPrefix(c, "    image:") {
			y = base[:strings.Index(base, "    image")] + c
		}
		h := hashOf(t, y)
		if prev, dup := seen[h]; dup {
			t.Errorf("%q: same hash as %q", strings.TrimSpace(c), prev)
		}
		seen[h] = strings.TrimSpace(c)
	}
}
