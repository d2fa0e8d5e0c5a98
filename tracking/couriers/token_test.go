package couriers

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Concurrent calls share one login; the token is reused until it expires or
// the courier refuses it; a failed login caches nothing.
func TestTokenCacheSharesOneLoginUntilExpiryOrRefusal(t *testing.T) {
	var c TokenCache
	var logins atomic.Int32
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	login := func(context.Context) (string, time.Time, error) {
		n := logins.Add(1)
		return fmt.Sprintf("token-%d", n), now.Add(time.Hour), nil
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if tok, err := c.Token(context.Background(), now, login); err != nil || tok != "token-1" {
				t.Errorf("concurrent call: %q, %v", tok, err)
			}
		})
	}
	wg.Wait()
	if tok, _ := c.Token(context.Background(), now.Add(59*time.Minute), login); tok != "token-1" || logins.Load() != 1 {
		t.Errorf("before expiry: %q after %d logins, want token-1 after 1", tok, logins.Load())
	}
	if tok, _ := c.Token(context.Background(), now.Add(time.Hour), login); tok != "token-2" {
		t.Errorf("at expiry: %q, want a new login", tok)
	}
	c.Forget()
	if tok, _ := c.Token(context.Background(), now, login); tok != "token-3" || c.Logins() != 3 {
		t.Errorf("after a refusal: %q after %d logins, want token-3 after 3", tok, c.Logins())
	}
	c.Forget()
	failing := func(context.Context) (string, time.Time, error) { return "", time.Time{}, errors.New("login refused") }
	if _, err := c.Token(context.Background(), now, failing); err == nil {
		t.Error("a failed login gave a token")
	}
	if tok, _ := c.Token(context.Background(), now, login); tok != "token-4" {
		t.Errorf("after a failed login: %q, want a new login", tok)
	}
}
