package reconcile

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/stackhq/stack/internal/statefile"
)

// Lock takes the project's lock, <root>/projects/<project>.lock, blocking until it is free:
// two `stack up` (or up and down) of one project serialize, never interleave. The lock is an
// flock, so a killed process releases it with its file descriptor and leaves nothing behind.
func Lock(root, project string) (unlock func(), err error) {
	dir := filepath.Join(root, "projects")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("lock project %s: %w", project, err)
	}
	unlock, err = statefile.Lock(filepath.Join(dir, project+".lock"))
	if err != nil {
		return nil, fmt.Errorf("lock project %s: %w", project, err)
	}
	return unlock, nil
}

// Select narrows desired and observed to the named services (`up web`), with the services
// they depend on unless noDeps. Orphans are not judged on a partial selection, so observed
// keeps only the selected services' containers.
func Select(d *Desired, o *Observed, names []string, noDeps bool) error {
	if len(names) == 0 {
		return nil
	}
	keep := map[string]bool{}
	var add func(name string) error
	add = func(name string) error {
		s := d.service(name)
		if s == nil {
			return fmt.Errorf("%w: no such service: %s", ErrUnknownService, name)
		}
		if keep[name] {
			return nil
		}
		keep[name] = true
		if noDeps {
			return nil
		}
		for _, dep := range s.DependsOn {
			if d.service(dep.Service) != nil {
				if err := add(dep.Service); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, n := range names {
		if err := add(n); err != nil {
			return err
		}
	}
	var services []*DesiredService
	for _, s := range d.Services {
		if keep[s.Name] {
			if noDeps {
				s.DependsOn = nil // not started, not waited for
			}
			services = append(services, s)
		}
	}
	d.Services = services
	var containers []ObservedContainer
	for _, c := range o.Containers {
		if keep[c.Service] {
			containers = append(containers, c)
		}
	}
	o.Containers = containers
	return nil
}
