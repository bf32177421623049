// Package spec loads stack files: compose-compatible YAML that declares services, ports,
// volumes, tmpfs mounts and networks, into one canonical, validated model (Project).
//
// Load runs these steps, each on yaml.v3 nodes so that every value keeps its file, line
// and column:
//
//	read      the -f files (or the first of DefaultFiles; "-" is standard input)
//	parse     one document per file; aliases and merge keys (<<) expanded into copies
//	interpolate  $VAR, ${VAR:-default}, ... from the process environment, then .env
//	canonicalize alternative forms (lists of KEY=VALUE, depends_on lists, build strings)
//	extends   per file, from the same or another file, paths rebased to the other file
//	merge     later files override earlier ones (compose's rules, see merge)
//	decode    strictly: unknown keys are errors with a suggestion, compose keys stack
//	          does not support are warnings; values parsed into long forms (ports, mounts,
//	          sizes in bytes, durations), relative paths made absolute
//	validate  checks across services: references, cycles, duplicate host ports, names
//	select    profiles and explicitly named services
//
// Every problem is collected, not just the first: an invalid file yields a
// *ValidationError listing each one as "file:line:col: key.path: message". Warnings
// (unsupported keys, unset variables) are returned in Project.Warnings.
//
// Service.ConfigHash digests what requires recreating a service's containers when it
// changes; reconcile stores it as a container label. Project marshals to YAML and JSON as
// a canonical stack file (what `stack config` prints), which loads back to the same model.
package spec
