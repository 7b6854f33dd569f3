package app

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Load fills the fields that are still empty, first from the environment
// (LoadEnv), then from a natscli context: the one o.Context names (--context,
// NATS_CONTEXT), or else the one `nats context select` has selected, if any.
// A context's authentication (user and password, token, credentials or
// nkey) applies only when no flag or variable chose one, and its client
// certificate only as a pair, so that settings from two places never mix
// into a combination nobody wrote. o.Context is set to the context used.
//
// Contexts are read from natscli's directory, $XDG_CONFIG_HOME/nats or
// ~/.config/nats. Their url, user, password, token, creds, nkey, cert, key,
// ca and inbox_prefix are used, with ~ and $VARIABLES expanded in file
// paths as natscli does. A context that needs more to connect (user_jwt,
// user_seed, nsc, socks_proxy, tls_first, a Windows certificate store, or a
// secret behind a scheme such as op:// or env://) is an error rather than a
// connection made without it. Reading contexts here, instead of with
// jsm.go's natscontext, keeps nats-server and the JetStream client out of
// service binaries.
func (o *ConnOptions) Load() error {
	o.LoadEnv()
	return o.loadContext()
}

// natscliContext is the part of a natscli context file that natsmux
// reads, plus the settings it refuses.
type natscliContext struct {
	URL         string `json:"url"`
	User        string `json:"user"`
	Password    string `json:"password"`
	Token       string `json:"token"`
	Creds       string `json:"creds"`
	NKey        string `json:"nkey"`
	Cert        string `json:"cert"`
	Key         string `json:"key"`
	CA          string `json:"ca"`
	InboxPrefix string `json:"inbox_prefix"`

	Unsupported map[string]json.RawMessage `json:"-"`
}

// unsupportedContextFields are settings that change how natscli connects
// and that natsmux does not implement.
var unsupportedContextFields = []string{"nsc", "user_jwt", "user_seed", "socks_proxy", "tls_first",
	"windows_cert_store", "windows_cert_match_by", "windows_cert_match", "windows_ca_certs_match"}

func (o *ConnOptions) loadContext() error {
	dir, err := natscliDir()
	if err != nil {
		if o.Context != "" {
			return fmt.Errorf("natscli context %q: %w", o.Context, err)
		}
		return nil // no home directory, so no selected context either
	}
	name := o.Context
	if name == "" {
		selected, err := os.ReadFile(filepath.Join(dir, "context.txt"))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("reading the selected natscli context: %w", err)
		}
		if name = strings.TrimSpace(string(selected)); name == "" {
			return nil
		}
	}
	nc, err := readContext(dir, name)
	if err != nil {
		return fmt.Errorf("natscli context %q: %w", name, err)
	}
	o.Context = name
	o.merge(nc)
	return nil
}

// natscliDir is where natscli keeps its contexts and its selection.
func natscliDir() (string, error) {
	if xdg := os.Getenv("XDG_CONFIG_HOME"); xdg != "" {
		return filepath.Join(xdg, "nats"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".config", "nats"), nil
}

func readContext(dir, name string) (natscliContext, error) {
	var c natscliContext
	// natscli's rule for names, which also keeps the file in its directory.
	if strings.Contains(name, "..") || strings.ContainsAny(name, `/\`) {
		return c, errors.New(`invalid name: it may not contain "..", "/" or "\"`)
	}
	path := filepath.Join(dir, "context", name+".json")
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, fmt.Errorf("not found (no %s; `nats context ls` lists the contexts)", path)
	}
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	if err := json.Unmarshal(data, &c.Unsupported); err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	return c, c.check()
}

// check refuses settings natsmux cannot honour, and expands file paths.
func (c *natscliContext) check() error {
	for _, field := range unsupportedContextFields {
		if raw, ok := c.Unsupported[field]; ok && !isZeroJSON(raw) {
			return fmt.Errorf("sets %s, which natsmux does not support; use a context without it, or flags", field)
		}
	}
	for _, secret := range []struct{ field, value string }{{"password", c.Password}, {"token", c.Token}} {
		if scheme := refScheme(secret.value); scheme != "" {
			return fmt.Errorf("%s uses %s://, which natsmux does not resolve; give the value itself, or use flags", secret.field, scheme)
		}
	}
	for _, file := range []struct {
		field string
		path  *string
	}{{"creds", &c.Creds}, {"nkey", &c.NKey}, {"cert", &c.Cert}, {"key", &c.Key}, {"ca", &c.CA}} {
		if scheme := refScheme(*file.path); scheme != "" {
			const prefix = "file://"
			if scheme != "file" || !strings.EqualFold((*file.path)[:min(len(prefix), len(*file.path))], prefix) {
				return fmt.Errorf("%s uses %s:, which natsmux does not resolve; give a file path", file.field, scheme)
			}
			*file.path = (*file.path)[len(prefix):]
		}
		*file.path = expandPath(*file.path)
	}
	return nil
}

// isZeroJSON reports whether a JSON value is empty: "", false, null, [] or {}.
func isZeroJSON(raw json.RawMessage) bool {
	return slices.Contains([]string{`""`, "false", "null", "[]", "{}"}, string(bytes.TrimSpace(raw)))
}

// refScheme returns the scheme of a natscli credential reference (op://,
// env://, file://, data:, ...), or "" for a plain value. One letter is a
// Windows drive, not a scheme.
func refScheme(ref string) string {
	u, err := url.Parse(ref)
	if err != nil || len(u.Scheme) < 2 {
		return ""
	}
	return u.Scheme
}

// expandPath expands $VARIABLES and a leading ~, as natscli does.
func expandPath(path string) string {
	path = os.ExpandEnv(path)
	if rest, ok := strings.CutPrefix(path, "~"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return home + rest
		}
	}
	return path
}

// merge fills o's empty fields from c, authentication and the client
// certificate each as a whole.
func (o *ConnOptions) merge(c natscliContext) {
	fill := func(dst *string, src string) {
		if *dst == "" {
			*dst = src
		}
	}
	fill(&o.URL, c.URL)
	fill(&o.TLSCA, c.CA)
	fill(&o.InboxPrefix, c.InboxPrefix)
	if o.User == "" && o.Password == "" && o.Token == "" && o.Creds == "" && o.NKey == "" {
		o.User, o.Password, o.Token, o.Creds, o.NKey = c.User, c.Password, c.Token, c.Creds, c.NKey
	}
	if o.TLSCert == "" && o.TLSKey == "" {
		o.TLSCert, o.TLSKey = c.Cert, c.Key
	}
}
