package spec

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLoadServiceModel(t *testing.T) {
	p := mustLoad(t, `
name: shop
services:
  web:
    image: nginx:1.27
    command: nginx -g 'daemon off;'
    entrypoint: ["/docker-entrypoint.sh"]
    environment:
      - A=1
      - B
      - C=x=y
    ports:
      - "8080:80"
      - target: 443
        published: "8443"
        host_ip: 127.0.0.1
        protocol: tcp
      - 9000-9001:9000-9001/udp
    expose: ["3000", 4000]
    volumes:
      - ./html:/usr/share/nginx/html:ro
      - cache:/var/cache/nginx
      - /anon
      - type: tmpfs
        target: /tmp
        tmpfs: {size: 1m, mode: "0700"}
      - type: bind
        source: conf
        target: /etc/nginx/conf.d
        bind: {create_host_path: true}
    tmpfs: /run
    healthcheck:
      test: curl -f http://localhost/
      interval: 10s
    restart: on-failure:5
    container_name: shop-web
    hostname: web.local
    user: "101:101"
    working_dir: /srv
    labels: {tier: front}
    init: true
    stop_signal: quit
    stop_grace_period: 1m30s
    read_only: true
    cap_add: [net_bind_service]
    cap_drop: [ALL]
    mem_limit: 256m
    cpus: 1.5
    pids_limit: 100
    networks:
      front:
        aliases: [www]
    extra_hosts: ["db.local:10.0.0.2", "gw=host-gateway"]
    ulimits:
      nofile: {soft: 1024, hard: 2048}
      nproc: 512
    sysctls: ["net.core.somaxconn=1024"]
    security_opt: [no-new-privileges]
    privileged: false
    tty: true
    stdin_open: true
  worker:
    build:
      context: ./worker
      dockerfile: Containerfile
      args: [VERSION=1.2, FROM_ENV, NOT_SET]
      target: prod
    deploy:
      replicas: 3
      resources:
        limits: {cpus: "0.5", memory: 1g, pids: 50}
    depends_on:
      web:
        condition: service_healthy
        restart: true
      migrate:
        condition: service_completed_successfully
        required: false
  migrate:
    image: shop/migrate
    healthcheck:
      disable: true
    command: []
volumes:
  cache:
networks:
  front:
    ipam:
      config:
        - subnet: 172.28.5.0/24
`, LoadOptions{Environ: []string{"B=from-shell", "FROM_ENV=env-arg"}})

	if p.Name != "shop" {
		t.Errorf("Name = %q", p.Name)
	}
	if got := p.ServiceNames(); !slices.Equal(got, []string{"migrate", "web", "worker"}) {
		t.Errorf("services = %v", got)
	}
	web := svc(t, p, "web")
	dir := p.WorkDir
	sticky := os.FileMode(0o700)
	grace := 90 * time.Second
	yes := true
	want := &Service{
		Name:        "web",
		Image:       "nginx:1.27",
		Command:     []string{"nginx", "-g", "daemon off;"},
		Entrypoint:  []string{"/docker-entrypoint.sh"},
		Environment: map[string]string{"A": "1", "B": "from-shell", "C": "x=y"},
		Ports: []Port{
			{Target: 80, Published: 8080, Protocol: "tcp"},
			{Target: 443, Published: 8443, HostIP: "127.0.0.1", Protocol: "tcp"},
			{Target: 9000, Published: 9000, Protocol: "udp"},
			{Target: 9001, Published: 9001, Protocol: "udp"},
		},
		Expose: []Port{{Target: 3000, Protocol: "tcp"}, {Target: 4000, Protocol: "tcp"}},
		Volumes: []Mount{
			{Type: MountBind, Source: filepath.Join(dir, "html"), Target: "/usr/share/nginx/html", ReadOnly: true, CreateHostPath: true},
			{Type: MountVolume, Source: "cache", Target: "/var/cache/nginx"},
			{Type: MountVolume, Target: "/anon"},
			{Type: MountTmpfs, Target: "/tmp", TmpfsSize: 1 << 20, TmpfsMode: sticky},
			{Type: MountBind, Source: filepath.Join(dir, "conf"), Target: "/etc/nginx/conf.d", CreateHostPath: true},
			{Type: MountTmpfs, Target: "/run"},
		},
		Healthcheck: &Healthcheck{Test: []string{"CMD-SHELL", "curl -f http://localhost/"}, Interval: 10 * time.Second,
			Timeout: 30 * time.Second, StartInterval: 5 * time.Second, Retries: 3},
		Restart: "on-failure", RestartMaxRetries: 5,
		Scale:         1,
		ContainerName: "shop-web", Hostname: "web.local", User: "101:101", WorkingDir: "/srv",
		StopSignal: "SIGQUIT", StopGracePeriod: &grace,
		Labels: map[string]string{"tier": "front"}, Init: &yes, ReadOnly: true,
		CapAdd: []string{"CAP_NET_BIND_SERVICE"}, CapDrop: []string{"ALL"},
		MemLimit: 256 << 20, CPUs: 1.5, PidsLimit: 100,
		Networks:    map[string]*ServiceNetwork{"front": {Aliases: []string{"www"}}},
		ExtraHosts:  []string{"db.local:10.0.0.2", "gw:host-gateway"},
		Ulimits:     map[string]Ulimit{"nofile": {1024, 2048}, "nproc": {512, 512}},
		Sysctls:     map[string]string{"net.core.somaxconn": "1024"},
		SecurityOpt: []string{"no-new-privileges"},
		Tty:         true, StdinOpen: true,
		Pos: web.Pos,
	}
	if !reflect.DeepEqual(web, want) {
		t.Errorf("web =\n%+v\nwant\n%+v", *web, *want)
	}
	if web.Pos.Line != 4 || web.Pos.Column != 3 || filepath.Base(web.Pos.File) != "stack.yaml" {
		t.Errorf("web.Pos = %v", web.Pos)
	}
	if got := web.Env(); !slices.Equal(got, []string{"A=1", "B=from-shell", "C=x=y"}) {
		t.Errorf("Env() = %q", got)
	}

	worker := svc(t, p, "worker")
	wantBuild := &Build{Context: filepath.Join(dir, "worker"), Dockerfile: "Containerfile", Target: "prod",
		Args: map[string]string{"VERSION": "1.2", "FROM_ENV": "env-arg"}}
	if !reflect.DeepEqual(worker.Build, wantBuild) {
		t.Errorf("worker.Build = %+v, want %+v", worker.Build, wantBuild)
	}
	if worker.Image != "shop-worker" || worker.Scale != 3 || worker.CPUs != 0.5 || worker.MemLimit != 1<<30 || worker.PidsLimit != 50 {
		t.Errorf("worker = image %q scale %d cpus %g mem %d pids %d", worker.Image, worker.Scale, worker.CPUs, worker.MemLimit, worker.PidsLimit)
	}
	wantDeps := map[string]Dependency{
		"web":     {Condition: ConditionHealthy, Restart: true, Required: true},
		"migrate": {Condition: ConditionCompleted, Required: false},
	}
	if !reflect.DeepEqual(worker.DependsOn, wantDeps) {
		t.Errorf("worker.DependsOn = %+v", worker.DependsOn)
	}
	if !reflect.DeepEqual(worker.Networks, map[string]*ServiceNetwork{"default": nil}) {
		t.Errorf("worker.Networks = %v", worker.Networks)
	}
	migrate := svc(t, p, "migrate")
	if migrate.Command == nil || len(migrate.Command) != 0 || migrate.Entrypoint != nil {
		t.Errorf("migrate command = %#v entrypoint = %#v, want empty and nil", migrate.Command, migrate.Entrypoint)
	}
	if !reflect.DeepEqual(migrate.Healthcheck, &Healthcheck{Test: []string{"NONE"}, Disable: true}) {
		t.Errorf("migrate.Healthcheck = %+v", migrate.Healthcheck)
	}
	if v := p.Volumes["cache"]; v == nil || v.Name != "shop_cache" || v.Driver != "local" {
		t.Errorf("volume cache = %+v", v)
	}
	if n := p.Networks["front"]; n == nil || n.Name != "shop_front" || n.IPAM == nil || n.IPAM.Config[0].Subnet != "172.28.5.0/24" {
		t.Errorf("network front = %+v", n)
	}
	if n := p.Networks["default"]; n == nil || n.Name != "shop_default" || n.Driver != "bridge" {
		t.Errorf("network default = %+v", n)
	}
	if len(p.Warnings) != 0 {
		t.Errorf("warnings: %v", warningLines(p))
	}
}

func TestWarnings(t *testing.T) {
	p := mustLoad(t, `
version: "3.9"
x-common: &c {image: alpine}
secrets:
  token: {file: ./token}
services:
  web:
    <<: *c
    logging: {driver: json-file}
    network_mode: host
    environment:
      URL: http://$HOST:${PORT}/
    volumes: ["./a:/a:z"]
    tmpfs: ["/t:noexec"]
    x-custom: anything
    build:
      context: .
      cache_from: [x]
    deploy:
      restart_policy: {condition: any}
    ports:
      - target: 80
        app_protocol: http
    networks:
      default:
        ipv6_address: "::1"
`, LoadOptions{Environ: []string{}})
	want := []string{
		"stack.yaml:4: warning: secrets is not supported by stack and is ignored",
		"stack.yaml:9: warning: services.web.logging is not supported by stack and is ignored",
		"stack.yaml:10: warning: services.web.network_mode is not supported by stack and is ignored",
		"stack.yaml:12: warning: variable HOST is not set, defaulting to an empty string",
		"stack.yaml:12: warning: variable PORT is not set, defaulting to an empty string",
		"stack.yaml:13: warning: services.web.volumes[0]: volume option \"z\" is not supported and is ignored",
		"stack.yaml:14: warning: services.web.tmpfs[0]: tmpfs option \"noexec\" is not supported and is ignored",
		"stack.yaml:18: warning: services.web.build.cache_from is not supported by stack and is ignored",
		"stack.yaml:20: warning: services.web.deploy.restart_policy is not supported by stack and is ignored",
		"stack.yaml:23: warning: services.web.ports[0].app_protocol is not supported by stack and is ignored",
		"stack.yaml:26: warning: services.web.networks.default.ipv6_address is not supported by stack and is ignored",
	}
	got := warningLines(p)
	if joinLines(got) != joinLines(want) {
		t.Errorf("warnings:\n%s\nwant:\n%s", joinLines(got), joinLines(want))
	}
}

func TestEnvironmentSources(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"stack.yaml": `
services:
  app:
    image: ${IMAGE}:${TAG:-latest}
    env_file:
      - common.env
      - path: local.env
        required: false
    environment:
      FROM_YAML: yaml
      OVERRIDDEN: by-environment
      PASS:
`,
		".env":       "IMAGE=from-dotenv\nTAG=1.0\nPASS='pa$$word'\nSHADOWED=dotenv\n",
		"common.env": "OVERRIDDEN=by-env-file\nCOMMON=$SHADOWED/$TAG\nLITERAL='$NOT_INTERPOLATED'\n",
		"other.env":  "TAG=2.0\n",
	})
	p, err := Load(LoadOptions{WorkDir: dir, Environ: []string{"SHADOWED=shell"}})
	if err != nil {
		t.Fatal(err)
	}
	app := svc(t, p, "app")
	if app.Image != "from-dotenv:1.0" {
		t.Errorf("image = %q", app.Image)
	}
	want := map[string]string{"FROM_YAML": "yaml", "OVERRIDDEN": "by-environment", "PASS": "pa$$word",
		"COMMON": "shell/1.0", "LITERAL": "$NOT_INTERPOLATED"}
	if !reflect.DeepEqual(app.Environment, want) {
		t.Errorf("environment = %v, want %v", app.Environment, want)
	}
	// --env-file replaces .env; the process environment still wins.
	p, err = Load(LoadOptions{WorkDir: dir, EnvFiles: []string{"other.env"}, Environ: []string{"IMAGE=shell-image"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := svc(t, p, "app").Image; got != "shell-image:2.0" {
		t.Errorf("image with --env-file = %q", got)
	}
	if _, err := Load(LoadOptions{WorkDir: dir, EnvFiles: []string{"missing.env"}}); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing --env-file: %v", err)
	}
}

func TestProjectName(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"My App.v2/stack.yaml": "services: {web: {image: a}}\n",
		"named/stack.yaml":     "name: from-file\nservices: {web: {image: a}}\n",
		"_/stack.yaml":         "services: {web: {image: a}}\n",
	})
	tests := []struct {
		dir, project string
		environ      []string
		want, err    string
	}{
		{dir: "My App.v2", want: "myappv2"},
		{dir: "named", want: "from-file"},
		{dir: "named", environ: []string{"COMPOSE_PROJECT_NAME=from-env"}, want: "from-env"},
		{dir: "named", project: "from-flag", environ: []string{"COMPOSE_PROJECT_NAME=from-env"}, want: "from-flag"},
		{dir: "named", project: "Bad Name", err: `invalid project name "Bad Name" (-p): use lowercase letters, digits, '_' and '-', starting with a letter or digit`},
		{dir: "_", err: `cannot derive a project name from directory`},
	}
	for _, tt := range tests {
		p, err := Load(LoadOptions{WorkDir: filepath.Join(dir, tt.dir), Project: tt.project, Environ: tt.environ})
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s/%s: error = %v, want %q", tt.dir, tt.project, err, tt.err)
			}
			continue
		}
		if err != nil || p.Name != tt.want {
			t.Errorf("%s/%s: name = %q, %v; want %q", tt.dir, tt.project, p.Name, err, tt.want)
		}
	}
	for in, want := range map[string]string{"My_App": "my_app", "--x": "x", "Ünïcode-9": "ncode-9", "...": ""} {
		if got := NormalizeProjectName(in); got != want {
			t.Errorf("NormalizeProjectName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFindFiles(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"compose.yaml":       "services: {a: {image: compose}}\n",
		"docker-compose.yml": "services: {a: {image: docker}}\n",
	})
	p, err := Load(LoadOptions{WorkDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if svc(t, p, "a").Image != "compose" || p.Files[0] != filepath.Join(dir, "compose.yaml") {
		t.Errorf("picked %v", p.Files)
	}
	if err := os.WriteFile(filepath.Join(dir, "stack.yaml"), []byte("services: {a: {image: stack}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if p, err = Load(LoadOptions{WorkDir: dir}); err != nil || svc(t, p, "a").Image != "stack" {
		t.Errorf("stack.yaml not preferred: %v", err)
	}
	if _, err := Load(LoadOptions{WorkDir: t.TempDir()}); !errors.Is(err, ErrNoStackFile) {
		t.Errorf("empty dir: %v, want ErrNoStackFile", err)
	}
}

func TestStdin(t *testing.T) {
	dir := writeFiles(t, map[string]string{".env": "IMG=busybox\n"})
	p, err := Load(LoadOptions{Files: []string{"-"}, WorkDir: dir, Stdin: strings.NewReader("services:\n  a:\n    image: $IMG\n    volumes: [./x:/x]\n")})
	if err != nil {
		t.Fatal(err)
	}
	a := svc(t, p, "a")
	if a.Image != "busybox" || a.Volumes[0].Source != filepath.Join(dir, "x") || p.Name != "proj" || p.WorkDir != dir {
		t.Errorf("from stdin: image %q volume %q name %q workdir %q", a.Image, a.Volumes[0].Source, p.Name, p.WorkDir)
	}
	_, err = Load(LoadOptions{Files: []string{"-"}, WorkDir: dir, Stdin: strings.NewReader("services: [")})
	if lines := problemLines(t, err); len(lines) != 1 || !strings.HasPrefix(lines[0], "-:1: invalid YAML") {
		t.Errorf("stdin error = %q", lines)
	}
}

func TestProfiles(t *testing.T) {
	const file = `
services:
  web:
    image: a
  debug:
    image: a
    profiles: [debug]
  admin:
    image: a
    profiles: [tools]
    depends_on: [db]
  db:
    image: a
    profiles: [tools, db]
  optional:
    image: a
    depends_on:
      metrics: {required: false}
  metrics:
    image: a
    profiles: [metrics]
`
	tests := []struct {
		profiles, services []string
		want               []string
		err                string
	}{
		{want: []string{"optional", "web"}},
		{profiles: []string{"debug"}, want: []string{"debug", "optional", "web"}},
		{profiles: []string{"tools"}, want: []string{"admin", "db", "optional", "web"}},
		{profiles: []string{"*"}, want: []string{"admin", "db", "debug", "metrics", "optional", "web"}},
		{services: []string{"admin"}, want: []string{"admin", "db", "optional", "web"}},
		{services: []string{"nope"}, err: `select service "nope": no such service`},
	}
	for _, tt := range tests {
		p, err := load(t, file, LoadOptions{Profiles: tt.profiles, Services: tt.services})
		if tt.err != "" {
			if err == nil || err.Error() != tt.err || !errors.Is(err, ErrUnknownService) {
				t.Errorf("%v %v: error %v, want %q", tt.profiles, tt.services, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%v %v: %v", tt.profiles, tt.services, err)
		}
		if got := p.ServiceNames(); !slices.Equal(got, tt.want) {
			t.Errorf("%v %v: services %v, want %v", tt.profiles, tt.services, got, tt.want)
		}
		if len(p.Services)+len(p.DisabledServices) != 6 {
			t.Errorf("%v %v: %d disabled", tt.profiles, tt.services, len(p.DisabledServices))
		}
		if o := p.Service("optional"); o != nil && len(tt.profiles) == 0 && len(o.DependsOn) != 0 {
			t.Errorf("optional dependency on a disabled service kept: %v", o.DependsOn)
		}
	}
	_, err := load(t, "services:\n  web:\n    image: a\n    depends_on: [db]\n  db:\n    image: a\n    profiles: [db]\n", LoadOptions{})
	want := "stack.yaml:2:3: services.web.depends_on: service web depends on db, which is disabled; enable one of its profiles (--profile db)"
	if got := problemLines(t, err); joinLines(got) != want {
		t.Errorf("disabled dependency: %q", got)
	}
}

// TestSeccompProfiles: security_opt seccomp:FILE (or seccomp=FILE) is read at load,
// relative to the project directory (to its own file's directory through extends), and
// kept as the profile's compact JSON, which loads back unchanged and is part of the hash.
func TestSeccompProfiles(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"stack.yaml": `
services:
  app:
    image: a
    security_opt: ["seccomp:./profiles/deny.json", no-new-privileges]
  eq:
    image: a
    security_opt: ["seccomp=profiles/deny.json"]
  open:
    image: a
    security_opt: ["seccomp:unconfined", "seccomp=builtin"]
  remote:
    extends: {file: lib/common.yaml, service: worker}
`,
		"profiles/deny.json": "{\n  \"defaultAction\": \"SCMP_ACT_ALLOW\",\n  \"syscalls\": [{\"names\": [\"mkdir\"], \"action\": \"SCMP_ACT_ERRNO\"}]\n}\n",
		"lib/common.yaml":    "services:\n  worker:\n    image: w\n    security_opt: [\"seccomp:own.json\"]\n",
		"lib/own.json":       `{"defaultAction": "SCMP_ACT_ERRNO"}`,
	})
	p, err := Load(LoadOptions{WorkDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	deny := `seccomp={"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}`
	for name, want := range map[string][]string{
		"app":    {deny, "no-new-privileges"},
		"eq":     {deny},
		"open":   {"seccomp:unconfined", "seccomp=builtin"},
		"remote": {`seccomp={"defaultAction":"SCMP_ACT_ERRNO"}`},
	} {
		if got := svc(t, p, name).SecurityOpt; !slices.Equal(got, want) {
			t.Errorf("%s: security_opt %q, want %q", name, got, want)
		}
	}
	// The canonical form (stack config) carries the profile and loads back the same.
	back := mustLoad(t, string(canonicalYAML(t, p)), LoadOptions{})
	if got := svc(t, back, "app").SecurityOpt; !slices.Equal(got, []string{deny, "no-new-privileges"}) {
		t.Errorf("loaded back: %q", got)
	}
	// Editing the profile changes the service's hash: up recreates its containers.
	hash := svc(t, p, "app").ConfigHash()
	os.WriteFile(filepath.Join(dir, "profiles/deny.json"), []byte(`{"defaultAction": "SCMP_ACT_ALLOW"}`), 0o644)
	if p, err = Load(LoadOptions{WorkDir: dir}); err != nil || svc(t, p, "app").ConfigHash() == hash {
		t.Errorf("the hash did not change with the profile (%v)", err)
	}

	// A missing file and a file that is not JSON, each at its entry.
	dir = writeFiles(t, map[string]string{
		"stack.yaml": "services:\n  a:\n    image: a\n    security_opt:\n      - no-new-privileges\n      - seccomp:missing.json\n      - seccomp=bad.json\n",
		"bad.json":   "{\n  \"defaultAction\": \"SCMP_ACT_ALLOW\",\n  \"syscalls\": [,]\n}\n",
	})
	_, err = Load(LoadOptions{WorkDir: dir})
	want := []string{
		"stack.yaml:6:9: services.a.security_opt[1]: read seccomp profile: open <dir>/missing.json: no such file or directory",
		"stack.yaml:7:9: services.a.security_opt[2]: seccomp profile <dir>/bad.json: not JSON: line 3, column 16: invalid character ',' looking for beginning of value",
	}
	if got := problemLines(t, err); joinLines(got) != joinLines(want) {
		t.Errorf("problems:\n%s\nwant:\n%s", joinLines(got), joinLines(want))
	}
}
