package image

import (
	"io"
	"sync"
)

const (
	readAheadChunk = 256 << 10 // bytes per chunk
	readAheadDepth = 8         // chunks decoded ahead of the reader
)

// readAhead reads its source on a goroutine of its own into a queue of chunks, so that
// producing the data (decompressing) and consuming it (writing files) run in parallel.
type readAhead struct {
	chunks chan []byte   // filled chunks, in order; closed after the last
	free   chan []byte   // chunks handed back for reuse
	stop   chan struct{} // closed by Close: the goroutine quits
	errc   chan error    // the source's final error (io.EOF at the end)
	cur    []byte        // unread part of the chunk being read
	held   []byte        // the whole chunk cur is part of
	err    error         // sticky error once the queue is drained
	once   sync.Once
}

func newReadAhead(src io.Reader) *readAhead {
	ra := &readAhead{
		chunks: make(chan []byte, readAheadDepth),
		free:   make(chan []byte, readAheadDepth+2),
		stop:   make(chan struct{}),
		errc:   make(chan error, 1),
	}
	go ra.fill(src)
	return ra
}

func (ra *readAhead) fill(src io.Reader) {
	defer close(ra.chunks)
	for {
		var b []byte
		select {
		case b = <-ra.free:
		default:
			b = make([]byte, readAheadChunk)
		}
		n, err := io.ReadFull(src, b)
		if n > 0 {
			select {
			case ra.chunks <- b[:n]:
			case <-ra.stop:
				return
			}
		}
		if err != nil {
			if err == io.ErrUnexpectedEOF {
				err = io.EOF // a short last chunk
			}
			ra.errc <- err
			return
		}
	}
}

// Read returns queued data, then the source's error.
func (ra *readAhead) Read(p []byte) (int, error) {
	for len(ra.cur) == 0 {
		if ra.err != nil {
			return 0, ra.err
		}
		if ra.held != nil {
			select {
			case ra.free <- ra.held[:cap(ra.held)]:
			default:
			}
			ra.held = nil
		}
		b, ok := <-ra.chunks
		if !ok {
			ra.err = <-ra.errc
			continue
		}
		ra.cur, ra.held = b, b
	}
	n := copy(p, ra.cur)
	ra.cur = ra.cur[n:]
	return n, nil
}

// Close stops the goroutine; the source is read no further.
func (ra *readAhead) Close() error {
	ra.once.Do(func() { close(ra.stop) })
	return nil
}
