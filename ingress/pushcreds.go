package ingress

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"orderflow/config"
	"orderflow/store"
)

// accountPattern is what an account name may look like: it appears in routes,
// workflow IDs and stock keys.
var accountPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)

// pushCredentials knows every account's valid webhook keys / signing secrets:
// those of the configuration file and environment (config.Push) and those set
// through the configuration API (push_credentials). Both are valid at once, and
// each holds up to two per account, which is how a secret is rotated.
//
// The configured ones are checked first and need no database, so a push whose
// account is configured is accepted even while Mongo is down. API-set ones are
// cached for a few seconds; when Mongo cannot be read the last copy is used, and
// with no copy at all the push is answered 503 (the sender retries).
type pushCredentials struct {
	static map[string]config.Credentials // source → account → secrets
	store  *store.Store
	now    func() time.Time
	ttl    time.Duration

	mu       sync.Mutex
	stored   map[string]config.Credentials
	storedAt time.Time
}

func newPushCredentials(d Deps) *pushCredentials {
	static := map[string]config.Credentials{}
	for _, src := range pushSources {
		static[src.name] = src.configured(d.Push)
	}
	return &pushCredentials{static: static, store: d.Store, now: d.Now, ttl: 5 * time.Second}
}

// identify finds the account whose secrets verify the request. With account
// set (route /webhooks/<source>/{account}) only that account is tried; without
// it (the plain route) every account is, and the key or signature identifies
// the account. Accounts are tried in name order, configured before API-set.
func (p *pushCredentials) identify(ctx context.Context, source, account string, verify func(secrets []string) bool) (string, bool, error) {
	if account != "" && !accountPattern.MatchString(account) {
		return "", false, nil
	}
	if acc, ok := match(p.static[source], account, verify); ok {
		return acc, true, nil
	}
	stored, err := p.storedCredentials(ctx)
	if err != nil {
		return "", false, err
	}
	acc, ok := match(stored[source], account, verify)
	return acc, ok, nil
}

// match verifies against every candidate account without stopping at the
// first success, and returns the first in name order that verified.
func match(creds config.Credentials, account string, verify func([]string) bool) (string, bool) {
	accounts := make([]string, 0, len(creds))
	for acc := range creds {
		if account == "" || acc == account {
			accounts = append(accounts, acc)
		}
	}
	slices.Sort(accounts)
	found := ""
	for _, acc := range accounts {
		if verify(creds[acc]) && found == "" {
			found = acc
		}
	}
	return found, found != ""
}

func (p *pushCredentials) storedCredentials(ctx context.Context) (map[string]config.Credentials, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stored != nil && p.now().Sub(p.storedAt) < p.ttl {
		return p.stored, nil
	}
	ctx, cancel := context.WithTimeout(ctx, StoreTimeout)
	defer cancel()
	list, err := p.store.PushCredentials(ctx)
	if err != nil {
		if p.stored != nil {
			return p.stored, nil // stale beats refusing every push while Mongo is away
		}
		return nil, err
	}
	out := map[string]config.Credentials{}
	for _, c := range list {
		if out[c.Source] == nil {
			out[c.Source] = config.Credentials{}
		}
		out[c.Source][c.Account] = c.Secrets
	}
	p.stored, p.storedAt = out, p.now()
	return out, nil
}

// invalidate drops the cache after the API changed a credential.
func (p *pushCredentials) invalidate() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stored = nil
}

// pushCredentialView is what the API shows of a credential: never the secrets.
type pushCredentialView struct {
	Source     string `json:"source"`
	Account    string `json:"account"`
	Origin     string `json:"origin"` // config or api
	SecretsSet int    `json:"secrets_set"`
}

type pushCredentialBody struct {
	Secrets []string `json:"secrets"`
}

func mountPushCredentialsAPI(mux *http.ServeMux, d Deps, creds *pushCredentials) {
	mux.HandleFunc("GET /v1/push-credentials", func(w http.ResponseWriter, r *http.Request) {
		items := []pushCredentialView{}
		for _, src := range pushSourceNames() {
			for acc, secrets := range creds.static[src] {
				items = append(items, pushCredentialView{Source: src, Account: acc, Origin: "config", SecretsSet: len(secrets)})
			}
		}
		stored, err := d.Store.PushCredentials(r.Context())
		if !d.storeOK(w, err, "push_credentials") {
			return
		}
		for _, c := range stored {
			items = append(items, pushCredentialView{Source: c.Source, Account: c.Account, Origin: "api", SecretsSet: len(c.Secrets)})
		}
		slices.SortFunc(items, func(a, b pushCredentialView) int {
			return strings.Compare(a.Source+"\x00"+a.Account+"\x00"+a.Origin, b.Source+"\x00"+b.Account+"\x00"+b.Origin)
		})
		writeJSON(w, http.StatusOK, map[string]any{"items": items})
	})
	mux.HandleFunc("PUT /v1/push-credentials/{source}/{account}", jsonBody(func(w http.ResponseWriter, r *http.Request) {
		source, account, ok := credentialPath(w, r)
		if !ok {
			return
		}
		var body pushCredentialBody
		if err := decodeJSON(w, r, d.MaxBodyBytes, &body); err != nil {
			writeDecodeError(w, err)
			return
		}
		if len(body.Secrets) == 0 || len(body.Secrets) > 2 {
			writeError(w, http.StatusBadRequest, "secrets must list one secret, or two while rotating", "secrets")
			return
		}
		for _, s := range body.Secrets {
			if len(s) < 16 || len(s) > 512 {
				writeError(w, http.StatusBadRequest, "every secret must be 16 to 512 characters", "secrets")
				return
			}
		}
		err := d.Store.SetPushCredential(r.Context(), store.PushCredential{
			Source: source, Account: account, Secrets: body.Secrets, UpdatedAt: d.Now().UTC(),
		})
		if !d.storeOK(w, err, "push_credentials") {
			return
		}
		creds.invalidate()
		writeJSON(w, http.StatusOK, pushCredentialView{Source: source, Account: account, Origin: "api", SecretsSet: len(body.Secrets)})
	}))
	mux.HandleFunc("DELETE /v1/push-credentials/{source}/{account}", func(w http.ResponseWriter, r *http.Request) {
		source, account, ok := credentialPath(w, r)
		if !ok {
			return
		}
		if !d.storeOK(w, d.Store.DeletePushCredential(r.Context(), source, account), "push_credentials") {
			return
		}
		creds.invalidate()
		w.WriteHeader(http.StatusNoContent)
	})
}

func credentialPath(w http.ResponseWriter, r *http.Request) (source, account string, ok bool) {
	source, account = r.PathValue("source"), r.PathValue("account")
	if !slices.Contains(pushSourceNames(), source) {
		writeError(w, http.StatusNotFound, "unknown push source (one of: "+strings.Join(pushSourceNames(), ", ")+")", "source")
		return "", "", false
	}
	if !accountPattern.MatchString(account) {
		writeError(w, http.StatusBadRequest, "account must match "+accountPattern.String(), "account")
		return "", "", false
	}
	return source, account, true
}
