package spec

import (
	"testing"
)

// TestLoadErrors checks the exact problems reported for invalid files: every message,
// its file:line:column and key path, and that all problems of a file come at once.
func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"unknown top key",
			"servics:\n  web:\n    image: a",
			[]string{
				"stack.yaml:1:1: unknown key \"servics\", did you mean \"services\"?",
				"stack.yaml:1:1: services: the stack defines no services",
			}},
		{"unknown service key",
			"services:\n  web:\n    image: a\n    comand: x",
			[]string{
				"stack.yaml:4:5: services.web: unknown key \"comand\", did you mean \"command\"?",
			}},
		{"unknown key far from any",
			"services:\n  web:\n    image: a\n    zzzzzzzz: 1",
			[]string{
				"stack.yaml:4:5: services.web: unknown key \"zzzzzzzz\"",
			}},
		{"duplicate key",
			"services:\n  web:\n    image: a\n    image: b",
			[]string{
				"stack.yaml:4:5: services.web.image: key \"image\" is already defined at line 3",
			}},
		{"no services",
			"version: \"3\"",
			[]string{
				"stack.yaml:1:1: services: the stack defines no services",
			}},
		{"empty services",
			"services: {}",
			[]string{
				"stack.yaml:1:11: services: the stack defines no services",
			}},
		{"services not mapping",
			"services: [a]",
			[]string{
				"stack.yaml:1:11: services: must be a mapping of service names, not a list",
			}},
		{"file not a mapping",
			"- a\n- b",
			[]string{
				"stack.yaml:1:1: a stack file must be a mapping with a services key, not a list",
			}},
		{"invalid yaml",
			"services:\n  web:\n    image: [a\n",
			[]string{
				"stack.yaml:2: invalid YAML: did not find expected ',' or ']'",
			}},
		{"second document",
			"services:\n  web:\n    image: a\n---\nservices: {}",
			[]string{
				"stack.yaml:4:1: a stack file holds one YAML document; remove the second one",
			}},
		{"no image or build",
			"services:\n  web:\n    command: x",
			[]string{
				"stack.yaml:2:3: services.web: service web needs image or build",
			}},
		{"null service",
			"services:\n  web:",
			[]string{
				"stack.yaml:2:3: services.web: service web needs image or build",
			}},
		{"invalid service name",
			"services:\n  -web:\n    image: a",
			[]string{
				"stack.yaml:2:3: services.-web: invalid service name \"-web\": use letters, digits, '.', '_' and '-', starting with a letter or digit",
			}},
		{"image not string",
			"services:\n  web:\n    image: [a]",
			[]string{
				"stack.yaml:2:3: services.web: service web needs image or build",
				"stack.yaml:3:12: services.web.image: must be a string, not a list",
			}},
		{"bad port",
			"services:\n  web:\n    image: a\n    ports: [\"80:abc\", \"70000\", \"1-3:4-5\", \"80/sctp\", \"x.y::80\", 8080]",
			[]string{
				"stack.yaml:4:13: services.web.ports[0]: invalid port \"abc\": want a number from 1 to 65535",
				"stack.yaml:4:23: services.web.ports[1]: invalid port \"70000\": want a number from 1 to 65535",
				"stack.yaml:4:32: services.web.ports[2]: host port range 1-3 and container port range 4-5 differ in length",
				"stack.yaml:4:43: services.web.ports[3]: unsupported protocol \"sctp\" (tcp or udp)",
				"stack.yaml:4:54: services.web.ports[4]: invalid host IP \"x.y\"",
			}},
		{"port long syntax",
			"services:\n  web:\n    image: a\n    ports:\n      - published: 80\n      - target: 80\n        protocol: icmp\n      - target: 80\n        mode: swarm",
			[]string{
				"stack.yaml:5:9: services.web.ports[0]: target is required",
				"stack.yaml:6:9: services.web.ports[1]: unsupported protocol \"icmp\" (tcp or udp)",
				"stack.yaml:9:15: services.web.ports[2].mode: must be host or ingress, not \"swarm\"",
			}},
		{"duplicate published",
			"services:\n  a:\n    image: a\n    ports: [\"8080:80\", \"127.0.0.1:9090:90\", \"53:53/udp\"]\n  b:\n    image: b\n    ports: [\"8080:81\", \"127.0.0.2:9090:90\", \"53:53\"]",
			[]string{
				"stack.yaml:7:13: services.b.ports[0]: host port 8080/tcp is already published by service a (line 4)",
			}},
		{"published with scale",
			"services:\n  web:\n    image: a\n    scale: 2\n    ports: [\"80:80\", \"81\"]",
			[]string{
				"stack.yaml:5:13: services.web.ports[0]: host port 80 can be published by one container only, but scale is 2",
			}},
		{"bad volume",
			"services:\n  web:\n    image: a\n    volumes: [\"data:/x\", \"./a:rel\", \"a:b:c:d\", \"./x:/y:bogus\", \":/z\", \"/t\", \"/t\"]",
			[]string{
				"stack.yaml:4:15: services.web.volumes[0]: volume \"data\" is not declared in the top-level volumes",
				"stack.yaml:4:26: services.web.volumes[1]: mount target \"rel\" must be an absolute path",
				"stack.yaml:4:37: services.web.volumes[2]: invalid volume \"a:b:c:d\": want [SOURCE:]TARGET[:MODE]",
				"stack.yaml:4:48: services.web.volumes[3]: invalid volume \"./x:/y:bogus\": unknown option \"bogus\" (ro, rw)",
				"stack.yaml:4:64: services.web.volumes[4]: invalid volume \":/z\": empty source",
				"stack.yaml:4:77: services.web.volumes[6]: two mounts on /t",
			}},
		{"volume long",
			"services:\n  web:\n    image: a\n    volumes:\n      - type: bind\n        target: /x\n      - type: npipe\n        source: a\n        target: /y\n      - source: a\n        target: /z\n      - type: volume\n        source: data\n      - type: volume\n        target: /w\n        tmpfs:\n          size: 1m\nvolumes:\n  data:",
			[]string{
				"stack.yaml:5:9: services.web.volumes[0]: a bind mount needs a source",
				"stack.yaml:7:15: services.web.volumes[1].type: unsupported volume type \"npipe\" (bind, volume or tmpfs)",
				"stack.yaml:10:9: services.web.volumes[2]: type is required (bind, volume or tmpfs)",
				"stack.yaml:12:9: services.web.volumes[3]: target is required",
				"stack.yaml:14:9: services.web.volumes[4].tmpfs: tmpfs options need type: tmpfs",
			}},
		{"undeclared volume suggestion",
			"services:\n  web:\n    image: a\n    volumes: [\"cache:/x\"]\nvolumes:\n  caches:",
			[]string{
				"stack.yaml:4:15: services.web.volumes[0]: volume \"cache\" is not declared in the top-level volumes, did you mean \"caches\"?",
			}},
		{"bad tmpfs",
			"services:\n  web:\n    image: a\n    tmpfs: [\"/run:size=big\", \"/x:mode=999\", \"/y:foo\", \"rel\"]",
			[]string{
				"stack.yaml:4:13: services.web.tmpfs[0]: invalid tmpfs \"/run:size=big\": invalid size \"big\": want a number of bytes with an optional unit (b, k, m, g, t), e.g. 512m",
				"stack.yaml:4:30: services.web.tmpfs[1]: invalid tmpfs \"/x:mode=999\": invalid mode \"999\": want octal permission bits, e.g. 1777",
				"stack.yaml:4:45: services.web.tmpfs[2]: invalid tmpfs \"/y:foo\": unknown option \"foo\" (size, mode, ro)",
				"stack.yaml:4:55: services.web.tmpfs[3]: mount target \"rel\" must be an absolute path",
			}},
		{"bad depends_on",
			"services:\n  web:\n    image: a\n    depends_on:\n      dbb:\n        condition: service_healthy\n      web:\n      cache:\n        condition: started\n        required: maybe\n  db:\n    image: b",
			[]string{
				"stack.yaml:5:7: services.web.depends_on: depends on unknown service \"dbb\", did you mean \"db\"?",
				"stack.yaml:7:7: services.web.depends_on: service web depends on itself",
				"stack.yaml:8:7: services.web.depends_on: depends on unknown service \"cache\"",
				"stack.yaml:9:20: services.web.depends_on.cache.condition: unknown condition \"started\" (service_started, service_healthy or service_completed_successfully)",
				"stack.yaml:10:19: services.web.depends_on.cache.required: must be true or false, not \"maybe\"",
			}},
		{"depends_on cycle",
			"services:\n  a:\n    image: a\n    depends_on: [b]\n  b:\n    image: a\n    depends_on: [c]\n  c:\n    image: a\n    depends_on: [a]",
			[]string{
				"stack.yaml:10:18: services.c.depends_on: dependency cycle: a -> b -> c -> a",
			}},
		{"healthcheck errors",
			"services:\n  web:\n    image: a\n    healthcheck:\n      test: [\"CMD\"]\n      interval: -5s\n      retries: many\n      timeout: 10\n  b:\n    image: a\n    healthcheck:\n      test: [\"CMD-SHELL\", \"a\", \"b\"]\n  c:\n    image: a\n    healthcheck:\n      test: []\n      start_period: 1x",
			[]string{
				"stack.yaml:5:13: services.web.healthcheck.test: CMD needs the command to run, e.g. [\"CMD\", \"/bin/check\"]",
				"stack.yaml:6:17: services.web.healthcheck.interval: invalid duration \"-5s\": must not be negative",
				"stack.yaml:7:16: services.web.healthcheck.retries: must be a whole number, not \"many\"",
				"stack.yaml:8:16: services.web.healthcheck.timeout: invalid duration \"10\": want a number with a unit, e.g. 10s, 1m30s, 500ms",
				"stack.yaml:12:13: services.b.healthcheck.test: CMD-SHELL takes exactly one shell command string",
				"stack.yaml:16:13: services.c.healthcheck.test: must not be empty",
				"stack.yaml:17:21: services.c.healthcheck.start_period: invalid duration \"1x\": want a number with a unit, e.g. 10s, 1m30s, 500ms",
			}},
		{"restart errors",
			"services:\n  a:\n    image: a\n    restart: on-failure:x\n  b:\n    image: a\n    restart: always:3\n  c:\n    image: a\n    restart: never",
			[]string{
				"stack.yaml:4:14: services.a.restart: invalid retry count in \"on-failure:x\": want on-failure:N with N >= 0",
				"stack.yaml:7:14: services.b.restart: unknown restart policy \"always:3\" (no, always, on-failure[:N], unless-stopped)",
				"stack.yaml:10:14: services.c.restart: unknown restart policy \"never\" (no, always, on-failure[:N], unless-stopped)",
			}},
		{"scalar errors",
			"services:\n  web:\n    image: a\n    init: maybe\n    scale: -1\n    cpus: lots\n    pids_limit: -2\n    read_only: [true]\n    mem_limit: 1.2.3g\n    working_dir: app\n    stop_signal: SIGFOO\n    stop_grace_period: soon\n    hostname: bad_host\n    container_name: \"-x\"",
			[]string{
				"stack.yaml:4:11: services.web.init: must be true or false, not \"maybe\"",
				"stack.yaml:5:12: services.web.scale: must be between 0 and 2147483647, not -1",
				"stack.yaml:6:11: services.web.cpus: must be a positive number of CPUs, e.g. 0.5, not \"lots\"",
				"stack.yaml:7:17: services.web.pids_limit: must be at least -1, not -2",
				"stack.yaml:8:16: services.web.read_only: must be a string, not a list",
				"stack.yaml:9:16: services.web.mem_limit: invalid size \"1.2.3g\": want a number of bytes with an optional unit (b, k, m, g, t), e.g. 512m",
				"stack.yaml:10:18: services.web.working_dir: must be an absolute path, not \"app\"",
				"stack.yaml:11:18: services.web.stop_signal: unknown signal \"SIGFOO\"",
				"stack.yaml:12:24: services.web.stop_grace_period: invalid duration \"soon\": want a number with a unit, e.g. 10s, 1m30s, 500ms",
				"stack.yaml:13:15: services.web.hostname: invalid host name \"bad_host\" (RFC 1123: letters, digits, '-', labels separated by '.')",
				"stack.yaml:14:21: services.web.container_name: invalid container name \"-x\": use letters, digits, '.', '_' and '-', starting with a letter or digit",
			}},
		{"caps and ulimits",
			"services:\n  web:\n    image: a\n    cap_add: [NET_ADMIN, FLY]\n    ulimits:\n      nofile: {soft: 10, hard: 5}\n      bogus: 1\n      nproc: {soft: 1}\n      core: x",
			[]string{
				"stack.yaml:4:14: services.web.cap_add[1]: unknown capability \"FLY\"",
				"stack.yaml:6:15: services.web.ulimits.nofile: soft limit 10 exceeds hard limit 5",
				"stack.yaml:7:7: services.web.ulimits.bogus: unknown ulimit \"bogus\"",
				"stack.yaml:8:14: services.web.ulimits.nproc: needs both soft and hard",
				"stack.yaml:9:13: services.web.ulimits.core: must be a whole number, not \"x\"",
			}},
		{"deploy conflicts",
			"services:\n  web:\n    image: a\n    scale: 2\n    mem_limit: 1g\n    cpus: 1\n    deploy:\n      replicas: 3\n      resources:\n        limits:\n          memory: 2g\n          cpus: \"0.5\"",
			[]string{
				"stack.yaml:3:5: services.web: mem_limit (1073741824) and deploy.resources.limits.memory (2147483648) differ; set one",
				"stack.yaml:3:5: services.web: cpus (1) and deploy.resources.limits.cpus (0.5) differ; set one",
				"stack.yaml:8:17: services.web.deploy.replicas: scale (2) and deploy.replicas (3) differ; set one",
			}},
		{"networks errors",
			"services:\n  web:\n    image: a\n    networks:\n      front:\n        ipv4_address: 10.0.0.5\n      back:\n        ipv4_address: 192.168.9.1\n        aliases: [\"ok\", \"not ok\"]\n      other:\n        ipv4_address: 300.1.1.1\nnetworks:\n  front:\n  back:\n    driver: overlay\n    ipam:\n      config:\n        - subnet: 192.168.0.0/24\n          gateway: 10.0.0.1\n        - subnet: nonsense\n        - gateway: 192.168.0.1",
			[]string{
				"stack.yaml:5:7: services.web.networks.front.ipv4_address: a static address needs a network with an ipam subnet",
				"stack.yaml:7:7: services.web.networks.back.ipv4_address: address 192.168.9.1 is outside the subnets of network proj_back",
				"stack.yaml:9:18: services.web.networks.back.aliases[1]: invalid alias \"not ok\" (a DNS name)",
				"stack.yaml:10:7: services.web.networks: network \"other\" is not declared in the top-level networks",
				"stack.yaml:11:23: services.web.networks.other.ipv4_address: invalid IPv4 address \"300.1.1.1\"",
				"stack.yaml:15:13: networks.back.driver: network driver \"overlay\" is not supported (only bridge)",
				"stack.yaml:18:11: networks.back.ipam.config[0].gateway: gateway 10.0.0.1 is outside subnet 192.168.0.0/24",
				"stack.yaml:20:19: networks.back.ipam.config[1].subnet: invalid subnet \"nonsense\": want CIDR notation like 172.28.0.0/16",
				"stack.yaml:21:11: networks.back.ipam.config[2]: subnet is required",
			}},
		{"top level volume errors",
			"volumes:\n  data:\n    driver: nfs\n  \"bad name\":\nservices:\n  web:\n    image: a",
			[]string{
				"stack.yaml:3:13: volumes.data.driver: volume driver \"nfs\" is not supported (only local)",
				"stack.yaml:4:3: volumes.bad name: invalid volume name \"bad name\": use letters, digits, '.', '_' and '-', starting with a letter or digit",
			}},
		{"extra hosts",
			"services:\n  web:\n    image: a\n    extra_hosts: [\"db:10.0.0.1\", \"nohost\", \"x:notanip\", \"bad_host:1.2.3.4\"]",
			[]string{
				"stack.yaml:4:34: services.web.extra_hosts[1]: must be HOST:IP, not \"nohost\"",
				"stack.yaml:4:44: services.web.extra_hosts[2]: invalid address \"notanip\" for host \"x\"",
				"stack.yaml:4:57: services.web.extra_hosts[3]: invalid host name \"bad_host\"",
			}},
		{"interpolation errors",
			"services:\n  web:\n    image: ${IMAGE:?image is required}\n    command: echo $1\n    environment:\n      A: ${B\n      C: ${}",
			[]string{
				"stack.yaml:3:12: services.web.image: required variable IMAGE is missing a value: image is required",
				"stack.yaml:4:14: services.web.command: invalid interpolation format in \"echo $1\"; write $$ for a literal $",
				"stack.yaml:6:10: services.web.environment.A: invalid interpolation format in \"${B\"; write $$ for a literal $",
				"stack.yaml:7:10: services.web.environment.C: invalid interpolation format in \"${}\"; write $$ for a literal $",
			}},
		{"command quote",
			"services:\n  web:\n    image: a\n    command: echo \"unterminated",
			[]string{
				"stack.yaml:4:14: services.web.command: unterminated quote in \"echo \\\"unterminated\"",
			}},
		{"env_file missing",
			"services:\n  web:\n    image: a\n    env_file: [missing.env, {path: optional.env, required: false}]",
			[]string{
				"stack.yaml:4:16: services.web.env_file[0]: read env file: open <dir>/missing.env: no such file or directory",
			}},
		{"project name",
			"name: My_Project\nservices:\n  web:\n    image: a",
			[]string{
				"stack.yaml:1:7: name: invalid project name \"My_Project\": use lowercase letters, digits, '_' and '-', starting with a letter or digit",
			}},
		{"container name conflicts",
			"services:\n  a:\n    image: a\n    container_name: same\n  b:\n    image: a\n    container_name: same\n    scale: 2",
			[]string{
				"stack.yaml:7:21: services.b.container_name: a fixed container name allows one container, but scale is 2",
				"stack.yaml:7:21: services.b.container_name: container name \"same\" is also used by service a",
			}},
		{"extends errors",
			"services:\n  a:\n    extends: nothere\n  b:\n    extends: {service: c}\n  c:\n    extends: b\n  d:\n    extends: {file: missing.yaml, service: x}",
			[]string{
				"stack.yaml:3:14: services.a.extends: extends unknown service \"nothere\"",
				"stack.yaml:5:14: services.b.extends: extends cycle: b -> c -> b",
				"stack.yaml:9:21: services.d.extends.file: read extended file: open <dir>/missing.yaml: no such file or directory",
			}},
		{"alias cycle",
			"a: &a [*a]",
			[]string{
				"stack.yaml:1:8: alias *a refers to itself",
			}},
		{"merge key not mapping",
			"x: &s abc\nservices:\n  web:\n    <<: *s\n    image: a",
			[]string{
				"stack.yaml:4:5: the merge key << needs a mapping or a list of mappings",
			}},
		{"build errors",
			"services:\n  web:\n    build:\n      context: https://github.com/x/y.git\n      dockerfil: Dockerfile",
			[]string{
				"stack.yaml:4:16: services.web.build.context: remote build context \"https://github.com/x/y.git\" is not supported; use a local directory",
				"stack.yaml:5:7: services.web.build: unknown key \"dockerfil\", did you mean \"dockerfile\"?",
			}},
		{"wrong shapes",
			"services:\n  web:\n    image: a\n    environment: 5\n    ports: \"80:80\"\n    volumes: {a: b}\n    depends_on: 3\n    networks: x\n    labels: [[a]]\n    ulimits: [1]",
			[]string{
				"stack.yaml:4:18: services.web.environment: must be a mapping or a list of KEY=VALUE, not a number",
				"stack.yaml:5:12: services.web.ports: must be a list, not a string",
				"stack.yaml:6:14: services.web.volumes: must be a list, not a mapping",
				"stack.yaml:7:17: services.web.depends_on: must be a list of services or a mapping, not a number",
				"stack.yaml:8:15: services.web.networks: must be a list of networks or a mapping, not a string",
				"stack.yaml:9:14: services.web.labels[0]: must be a string, not a list",
				"stack.yaml:10:14: services.web.ulimits: must be a mapping, not a list",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, tt.yaml, LoadOptions{Environ: []string{}})
			got := problemLines(t, err)
			if joinLines(got) != joinLines(tt.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", joinLines(got), joinLines(tt.want))
			}
		})
	}
}
