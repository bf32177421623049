package spec

import (
	"path/filepath"
	"reflect"
	"slices"
	"testing"
)

func TestMergeFiles(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"stack.yaml": `
services:
  web:
    image: web:1
    command: ["serve", "--prod"]
    environment: [A=1, B=2]
    labels: {x: "1"}
    ports: ["80:80", "443:443"]
    expose: ["9000"]
    volumes:
      - ./data:/data
      - logs:/logs
    depends_on: [db]
    networks: [front]
    cap_add: [NET_ADMIN]
    healthcheck:
      test: ["CMD", "check"]
      interval: 5s
    ulimits: {nofile: 100}
    build: ./web
  db:
    image: postgres
    ports: ["5432:5432"]
volumes:
  logs:
networks:
  front:
`,
		"override.yaml": `
services:
  web:
    image: web:2
    command: serve --dev
    environment: {B: "two", C: "3"}
    labels: [y=2]
    ports: ["80:80", "8080:8080"]
    expose: ["9001"]
    volumes:
      - ./dev-data:/data:ro
      - ./src:/src
    depends_on:
      cache: {condition: service_started}
    networks:
      back:
    cap_add: [SYS_PTRACE, NET_ADMIN]
    healthcheck:
      test: ["CMD", "check", "--dev"]
    ulimits: {nproc: 10}
    build: {dockerfile: Dockerfile.dev}
  db:
    ports: !reset []
    restart: always
  cache:
    image: redis
networks:
  back:
`,
	})
	p, err := Load(LoadOptions{WorkDir: dir, Files: []string{"stack.yaml", "override.yaml"}})
	if err != nil {
		t.Fatal(err)
	}
	web := svc(t, p, "web")
	check := func(what string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %+v, want %+v", what, got, want)
		}
	}
	check("image", web.Image, "web:2")
	check("command", web.Command, []string{"serve", "--dev"})
	check("environment", web.Environment, map[string]string{"A": "1", "B": "two", "C": "3"})
	check("labels", web.Labels, map[string]string{"x": "1", "y": "2"})
	check("ports", web.Ports, []Port{{80, 80, "", "tcp"}, {443, 443, "", "tcp"}, {8080, 8080, "", "tcp"}})
	check("expose", web.Expose, []Port{{Target: 9000, Protocol: "tcp"}, {Target: 9001, Protocol: "tcp"}})
	check("volumes", web.Volumes, []Mount{
		{Type: MountBind, Source: filepath.Join(dir, "dev-data"), Target: "/data", ReadOnly: true, CreateHostPath: true},
		{Type: MountVolume, Source: "logs", Target: "/logs"},
		{Type: MountBind, Source: filepath.Join(dir, "src"), Target: "/src", CreateHostPath: true},
	})
	check("depends_on", web.DependsOn, map[string]Dependency{"db": {ConditionStarted, false, true}, "cache": {ConditionStarted, false, true}})
	check("networks", slices.Sorted(func(yield func(string) bool) {
		for k := range web.Networks {
			if !yield(k) {
				return
			}
		}
	}), []string{"back", "front"})
	check("cap_add", web.CapAdd, []string{"CAP_NET_ADMIN", "CAP_SYS_PTRACE"})
	check("healthcheck test", web.Healthcheck.Test, []string{"CMD", "check", "--dev"})
	check("healthcheck interval", web.Healthcheck.Interval.String(), "5s")
	check("ulimits", web.Ulimits, map[string]Ulimit{"nofile": {100, 100}, "nproc": {10, 10}})
	check("build", web.Build, &Build{Context: filepath.Join(dir, "web"), Dockerfile: "Dockerfile.dev"})
	db := svc(t, p, "db")
	check("db ports", len(db.Ports), 0)
	check("db restart", db.Restart, "always")
	check("db image", db.Image, "postgres")
	check("cache", svc(t, p, "cache").Image, "redis")
	check("files", len(p.Files), 2)
	if web.Pos.Line != 3 || filepath.Base(web.Pos.File) != "stack.yaml" {
		t.Errorf("web.Pos = %v, want the first file", web.Pos)
	}
}

func TestMergeOverrideTag(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"a.yaml": "services:\n  web:\n    image: a\n    environment: {A: '1', B: '2'}\n    ports: ['80:80']\n",
		"b.yaml": "services:\n  web:\n    environment: !override {C: '3'}\n    ports: !override ['81:81']\n",
	})
	p, err := Load(LoadOptions{WorkDir: dir, Files: []string{"a.yaml", "b.yaml"}})
	if err != nil {
		t.Fatal(err)
	}
	web := svc(t, p, "web")
	if !reflect.DeepEqual(web.Environment, map[string]string{"C": "3"}) || len(web.Ports) != 1 || web.Ports[0].Published != 81 {
		t.Errorf("override: env %v ports %v", web.Environment, web.Ports)
	}
}

func TestMergeErrorsNameTheirFile(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"a.yaml": "services:\n  web:\n    image: a\n",
		"b.yaml": "services:\n  web:\n    ports: ['x']\n",
	})
	_, err := Load(LoadOptions{WorkDir: dir, Files: []string{"a.yaml", "b.yaml"}})
	want := `b.yaml:3:13: services.web.ports[0]: invalid port "x": want a number from 1 to 65535`
	if got := problemLines(t, err); joinLines(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestExtends(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"stack.yaml": `
services:
  base:
    image: app
    environment: {LEVEL: base, KEEP: "yes"}
    ports: ["80"]
  web:
    extends: base
    environment: {LEVEL: web}
    ports: ["81"]
  chain:
    extends: {service: web}
    command: run
  remote:
    extends:
      file: lib/common.yaml
      service: worker
    environment: {EXTRA: "1"}
volumes:
  shared:
`,
		"lib/common.yaml": `
services:
  core:
    image: worker
    env_file: core.env
    volumes: ["./cfg:/cfg", "shared:/shared"]
    build: ./src
  worker:
    extends: core
    environment: {ROLE: worker}
`,
		"lib/core.env": "FROM_CORE=1\n",
	})
	p, err := Load(LoadOptions{WorkDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	web := svc(t, p, "web")
	if !reflect.DeepEqual(web.Environment, map[string]string{"LEVEL": "web", "KEEP": "yes"}) || web.Image != "app" || len(web.Ports) != 2 {
		t.Errorf("web = env %v image %q ports %v", web.Environment, web.Image, web.Ports)
	}
	chain := svc(t, p, "chain")
	if chain.Environment["LEVEL"] != "web" || !slices.Equal(chain.Command, []string{"run"}) {
		t.Errorf("chain = env %v command %v", chain.Environment, chain.Command)
	}
	remote := svc(t, p, "remote")
	lib := filepath.Join(dir, "lib")
	wantEnv := map[string]string{"FROM_CORE": "1", "ROLE": "worker", "EXTRA": "1"}
	if !reflect.DeepEqual(remote.Environment, wantEnv) {
		t.Errorf("remote env = %v, want %v", remote.Environment, wantEnv)
	}
	if remote.Volumes[0].Source != filepath.Join(lib, "cfg") || remote.Volumes[1].Source != "shared" {
		t.Errorf("remote volumes = %+v, want paths relative to lib/", remote.Volumes)
	}
	if remote.Build.Context != filepath.Join(lib, "src") {
		t.Errorf("remote build context = %q", remote.Build.Context)
	}
}
