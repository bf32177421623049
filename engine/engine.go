// Package engine assembles the stores of one root — containers (runtime), images, networks
// and volumes — and carries out the operations that span several of them: a container is
// created with its volumes resolved and recorded as in use, attached to its networks when it
// starts, and removed with its volumes released. `stack container ...` and the reconciler
// both go through it, so a container made by either is the same kind of thing.
//
// The runtime cannot do this itself: network and volume depend on runtime, not the other
// way round; the runtime only declares the small NetworkAttacher hook that Open fills in.
package engine

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/stackhq/stack/network"
	"github.com/stackhq/stack/runtime"
	"github.com/stackhq/stack/runtime/image"
	"github.com/stackhq/stack/runtime/volume"
)

// Engine is the stores of one root, wired together.
type Engine struct {
	Root       string
	Containers *runtime.Manager
	Images     *image.Store
	Networks   *network.Manager
	Volumes    *volume.Store
}

// Open opens every store under root and gives the runtime its network attacher:
// containers are connected at their first start, after their named volumes were filled
// from the image's content at the mount point (Docker's copy-up).
func Open(root string) (*Engine, error) {
	images, err := image.Open(filepath.Join(root, "images"))
	if err != nil {
		return nil, err
	}
	containers, err := runtime.NewWithImages(root, images)
	if err != nil {
		return nil, err
	}
	nets, err := network.Open(root, runtime.RunDir(root))
	if err != nil {
		return nil, err
	}
	vols, err := volume.Open(root)
	if err != nil {
		return nil, err
	}
	containers.Network = &network.Attacher{Networks: nets, Prepare: func(c *runtime.Container) error {
		return vols.Fill(filepath.Join(c.Dir(), "rootfs"), c.Spec.Mounts)
	}}
	return &Engine{Root: root, Containers: containers, Images: images, Networks: nets, Volumes: vols}, nil
}

// Create resolves mounts (named and anonymous volumes become binds into the volume store),
// creates the container, and records it as the user of its volumes. If anything fails, the
// anonymous volumes made for it are removed again and no container is left. Callers run
// Sweep once before a batch of creates.
func (e *Engine) Create(ctx context.Context, spec runtime.Spec, mounts []volume.Mount) (_ *runtime.Container, retErr error) {
	resolved, names, err := e.Volumes.Resolve(mounts, nil)
	if err != nil {
		return nil, err
	}
	spec.Mounts = append(spec.Mounts, resolved...)
	c, err := e.Containers.Create(ctx, spec)
	if err != nil {
		_ = e.Volumes.Forget(names)
		return nil, err
	}
	defer func() {
		if retErr != nil {
			_ = e.Containers.Remove(context.WithoutCancel(ctx), c.ID, runtime.RemoveOptions{Force: true, Volumes: true})
			_ = e.Volumes.Release(c.ID, true)
		}
	}()
	for _, name := range names {
		if _, err := e.Volumes.Acquire(name, c.ID, nil); err != nil {
			return nil, fmt.Errorf("use volume %s: %w", name, err)
		}
	}
	return c, nil
}

// Remove removes a container and releases its volumes; with opts.Volumes its anonymous
// volumes are deleted, as `docker rm -v` does.
func (e *Engine) Remove(ctx context.Context, idOrName string, opts runtime.RemoveOptions) error {
	c, err := e.Containers.Get(idOrName)
	if err != nil {
		return err
	}
	if err := e.Containers.Remove(ctx, c.ID, opts); err != nil {
		return err
	}
	return e.Volumes.Release(c.ID, opts.Volumes)
}

// Sweep repairs state after crashes: what creates killed midway left of containers is
// removed (runtime's Sweep); endpoints, published ports and volume users of containers
// that no longer exist are dropped, so that "in use" always means used by a container that
// exists. A container auto-removed by its monitor (--rm) also leaves its lease and DNS
// names behind (the monitor has no network attacher).
func (e *Engine) Sweep(ctx context.Context) error {
	if err := e.Containers.Sweep(); err != nil {
		return err
	}
	cs, err := e.Containers.List(runtime.ListOptions{All: true})
	if err != nil {
		return err
	}
	alive := make(map[string]bool, len(cs))
	for _, c := range cs {
		alive[c.ID] = true
	}
	isAlive := func(id string) bool { return alive[id] }
	if err := e.Networks.Sweep(ctx, isAlive); err != nil {
		return err
	}
	return e.Volumes.Sweep(isAlive)
}

// Release is the monitor's hook (runtime.Hooks.Release) for a container that removes
// itself (--rm): it gives back its endpoints, published ports and DNS names, and its volume
// uses (anonymous volumes go with it, as with docker run --rm). It opens only the network
// and volume stores: the monitor must stay small.
func Release(ctx context.Context, root string, c *runtime.Container) error {
	nets, err := network.Open(root, runtime.RunDir(root))
	if err != nil {
		return err
	}
	detachErr := (&network.Attacher{Networks: nets}).Detach(ctx, c)
	vols, err := volume.Open(root)
	if err != nil {
		return errors.Join(detachErr, err)
	}
	return errors.Join(detachErr, vols.Release(c.ID, true))
}

// ImagesInUse returns a test for whether a container of this root uses an image (by ID):
// image rm and prune keep those, and so does down --rmi.
func (e *Engine) ImagesInUse() (func(id string) bool, error) {
	cs, err := e.Containers.List(runtime.ListOptions{All: true})
	if err != nil {
		return nil, err
	}
	used := make(map[string]bool, len(cs))
	for _, c := range cs {
		used[c.ImageID] = true
	}
	return func(id string) bool { return used[id] }, nil
}
