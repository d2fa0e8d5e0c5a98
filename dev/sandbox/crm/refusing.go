package crm

import (
	"errors"
	"net"
	"net/http"
	"sync"
)

// RefusingServer serves a handler on a fixed loopback port and can stop
// listening for a while: the kernel then answers every connection with a
// reset (connection refused), as a CRM whose process or load balancer is
// down does, and the open keep-alive connections are closed too. Listening
// again reuses the same port, so the configured URL stays right.
type RefusingServer struct {
	handler http.Handler
	addr    string

	mu  sync.Mutex
	srv *http.Server // nil while refusing
}

// ServeRefusable starts serving h on a free loopback port.
func ServeRefusable(h http.Handler) (*RefusingServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &RefusingServer{handler: h, addr: ln.Addr().String()}
	s.serve(ln)
	return s, nil
}

// URL is the server's base URL, the same while refusing.
func (s *RefusingServer) URL() string { return "http://" + s.addr }

// Refuse closes the listener and every open connection: from now on a
// connection attempt is refused until Accept.
func (s *RefusingServer) Refuse() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		return nil
	}
	err := s.srv.Close()
	s.srv = nil
	return err
}

// Accept listens again on the same port.
func (s *RefusingServer) Accept() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return nil
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return err
	}
	s.serveLocked(ln)
	return nil
}

// Close stops the server for good.
func (s *RefusingServer) Close() error { return s.Refuse() }

func (s *RefusingServer) serve(ln net.Listener) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.serveLocked(ln)
}

func (s *RefusingServer) serveLocked(ln net.Listener) {
	srv := &http.Server{Handler: s.handler}
	s.srv = srv
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = ln.Close()
		}
	}()
}
