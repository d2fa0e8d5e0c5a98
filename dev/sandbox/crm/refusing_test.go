package crm

import (
	"errors"
	"net/http"
	"syscall"
	"testing"
	"time"
)

func TestRefusingServerRefusesConnectionsAndComesBackOnItsPort(t *testing.T) {
	s, err := ServeRefusable(New("id", "secret", time.Hour).Handler())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	client := &http.Client{Timeout: 5 * time.Second}
	get := func() (int, error) {
		resp, err := client.Get(s.URL() + "/received")
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	if code, err := get(); err != nil || code != http.StatusOK {
		t.Fatalf("before refusing: %d %v", code, err)
	}
	if err := s.Refuse(); err != nil {
		t.Fatal(err)
	}
	// The kept-alive connection is gone too: the next request dials and is refused.
	if _, err := get(); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("while refusing: %v, want connection refused", err)
	}
	if err := s.Accept(); err != nil {
		t.Fatal(err)
	}
	if code, err := get(); err != nil || code != http.StatusOK {
		t.Fatalf("after accepting again: %d %v", code, err)
	}
}
