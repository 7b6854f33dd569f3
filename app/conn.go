package app

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/spf13/pflag"
)

// DefaultURL is where a client connects when ConnOptions names no server,
// and where Run starts an embedded server when nothing answers there.
const DefaultURL = nats.DefaultURL

// ConnOptions says how to reach NATS: the settings natscli takes, under the
// same flag and environment variable names, so that one set of variables
// serves `nats`, `micro` and every service run with this package.
//
// Fill it with AddFlags and Load, in that order: a flag set on the command
// line wins over its environment variable, and both win over the natscli
// context.
type ConnOptions struct {
	URL         string // --server/-s, NATS_URL: one or more URLs, comma-separated
	Creds       string // --creds, NATS_CREDS: user credentials file
	NKey        string // --nkey, NATS_NKEY: file holding an nkey seed
	User        string // --user, NATS_USER
	Password    string // --password, NATS_PASSWORD
	Token       string // --token, NATS_TOKEN
	TLSCert     string // --tlscert, NATS_CERT: client certificate file
	TLSKey      string // --tlskey, NATS_KEY: client key file
	TLSCA       string // --tlsca, NATS_CA: certificate authority file
	Name        string // --connection-name: the name the server shows for the connection
	InboxPrefix string // --inbox-prefix: the prefix of reply subjects, for accounts that allow only it

	// Context names the natscli context that fills the settings left empty
	// (--context, NATS_CONTEXT); empty means the one natscli has selected.
	// See Load.
	Context string
}

// connSetting ties a ConnOptions field to its flag and environment variable,
// so that flags, LoadEnv and Environ cannot disagree.
type connSetting struct {
	flag, short, env, usage string
	field                   func(*ConnOptions) *string
}

var connSettings = []connSetting{
	{"server", "s", "NATS_URL", "NATS server URLs, comma-separated (default " + DefaultURL + ")", func(o *ConnOptions) *string { return &o.URL }},
	{"creds", "", "NATS_CREDS", "user credentials file", func(o *ConnOptions) *string { return &o.Creds }},
	{"nkey", "", "NATS_NKEY", "file holding the user's nkey seed", func(o *ConnOptions) *string { return &o.NKey }},
	{"user", "", "NATS_USER", "user name", func(o *ConnOptions) *string { return &o.User }},
	{"password", "", "NATS_PASSWORD", "password", func(o *ConnOptions) *string { return &o.Password }},
	{"token", "", "NATS_TOKEN", "authentication token", func(o *ConnOptions) *string { return &o.Token }},
	{"tlscert", "", "NATS_CERT", "TLS client certificate file", func(o *ConnOptions) *string { return &o.TLSCert }},
	{"tlskey", "", "NATS_KEY", "TLS client key file", func(o *ConnOptions) *string { return &o.TLSKey }},
	{"tlsca", "", "NATS_CA", "TLS certificate authority file", func(o *ConnOptions) *string { return &o.TLSCA }},
	{"connection-name", "", "", "connection name shown by the server", func(o *ConnOptions) *string { return &o.Name }},
	{"inbox-prefix", "", "", "prefix of reply subjects (default _INBOX)", func(o *ConnOptions) *string { return &o.InboxPrefix }},
	{"context", "", "NATS_CONTEXT", "natscli context for the settings not given otherwise (default: the selected context)", func(o *ConnOptions) *string { return &o.Context }},
}

// AddFlags registers the connection flags on fs, bound to o. Their help
// names the environment variables; defaults are not shown, so that secrets
// from the environment never appear in --help.
func (o *ConnOptions) AddFlags(fs *pflag.FlagSet) {
	for _, s := range connSettings {
		usage := s.usage
		if s.env != "" {
			usage += " [$" + s.env + "]"
		}
		fs.StringVarP(s.field(o), s.flag, s.short, "", usage)
	}
}

// LoadEnv fills the fields that are still empty from the environment
// variables natscli uses (NATS_URL, NATS_CREDS, NATS_NKEY, NATS_USER,
// NATS_PASSWORD, NATS_TOKEN, NATS_CERT, NATS_KEY, NATS_CA, NATS_CONTEXT).
func (o *ConnOptions) LoadEnv() {
	for _, s := range connSettings {
		if p := s.field(o); *p == "" && s.env != "" {
			*p = os.Getenv(s.env)
		}
	}
}

// Environ returns the set fields as NAME=value environment entries, for a
// child process that calls LoadEnv.
func (o ConnOptions) Environ() []string {
	var env []string
	for _, s := range connSettings {
		if v := *s.field(&o); v != "" && s.env != "" {
			env = append(env, s.env+"="+v)
		}
	}
	return env
}

// ServerURL returns o.URL, or DefaultURL when it is empty.
func (o ConnOptions) ServerURL() string {
	if o.URL == "" {
		return DefaultURL
	}
	return o.URL
}

// NATSOptions returns the nats.go options for o's authentication, TLS and
// name. It checks that the settings fit together and that the files exist,
// so that a mistake is reported before any connection attempt.
func (o ConnOptions) NATSOptions() ([]nats.Option, error) {
	var (
		opts    []nats.Option
		methods []string
	)
	if o.User != "" {
		methods = append(methods, "--user")
		opts = append(opts, nats.UserInfo(o.User, o.Password))
	} else if o.Password != "" {
		return nil, errors.New("a password needs a user (--user, NATS_USER)")
	}
	if o.Token != "" {
		methods = append(methods, "--token")
		opts = append(opts, nats.Token(o.Token))
	}
	if o.Creds != "" {
		if err := checkFile("credentials", o.Creds); err != nil {
			return nil, err
		}
		methods = append(methods, "--creds")
		opts = append(opts, nats.UserCredentials(o.Creds))
	}
	if o.NKey != "" {
		opt, err := nats.NkeyOptionFromSeed(o.NKey)
		if err != nil {
			return nil, fmt.Errorf("nkey seed file: %w", err)
		}
		methods = append(methods, "--nkey")
		opts = append(opts, opt)
	}
	if len(methods) > 1 {
		return nil, fmt.Errorf("choose one way to authenticate, not %s", strings.Join(methods, " and "))
	}
	switch {
	case (o.TLSCert == "") != (o.TLSKey == ""):
		return nil, errors.New("a TLS client certificate needs both --tlscert and --tlskey (NATS_CERT, NATS_KEY)")
	case o.TLSCert != "":
		if err := errors.Join(checkFile("TLS certificate", o.TLSCert), checkFile("TLS key", o.TLSKey)); err != nil {
			return nil, err
		}
		opts = append(opts, nats.ClientCert(o.TLSCert, o.TLSKey))
	}
	if o.TLSCA != "" {
		if err := checkFile("TLS certificate authority", o.TLSCA); err != nil {
			return nil, err
		}
		opts = append(opts, nats.RootCAs(o.TLSCA))
	}
	if o.Name != "" {
		opts = append(opts, nats.Name(o.Name))
	}
	if o.InboxPrefix != "" {
		opts = append(opts, nats.CustomInboxPrefix(o.InboxPrefix))
	}
	return opts, nil
}

func checkFile(what, path string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("%s file: %w", what, err)
	}
	return nil
}

// Connect connects to o.ServerURL() with o's settings followed by extra.
// Its errors name the server with the passwords and tokens of the URLs
// hidden (see RedactURLs), even when a URL does not parse.
func (o ConnOptions) Connect(extra ...nats.Option) (*nats.Conn, error) {
	opts, err := o.NATSOptions()
	if err != nil {
		return nil, err
	}
	// nats.go's parse errors quote the URL, and with it the password:
	// find them first and say what is wrong without quoting.
	if err := checkURLs(o.ServerURL()); err != nil {
		return nil, err
	}
	nc, err := nats.Connect(o.ServerURL(), append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("connecting to NATS at %s: %w", RedactURLs(o.ServerURL()), err)
	}
	return nc, nil
}

// checkURLs parses each URL of a comma-separated list as nats.go does, and
// describes the first that does not parse without quoting its secrets.
func checkURLs(urls string) error {
	for i, u := range strings.Split(urls, ",") {
		u = strings.TrimSpace(u)
		if u == "" {
			continue // nats.go skips empty entries
		}
		if !strings.Contains(u, "://") {
			u = "nats://" + u
		}
		if _, err := url.Parse(u); err != nil {
			return fmt.Errorf("NATS server URL %d of %s is not valid: want scheme://[user:password@]host:port, "+
				"with the password's special characters percent-encoded (%%2F for /, %%23 for #, %%25 for %%)", i+1, RedactURLs(urls))
		}
	}
	return nil
}

// redactedSecret replaces passwords and tokens in RedactURLs.
const redactedSecret = "xxxxx"

// RedactURLs returns urls, one URL or a comma-separated list as NATS_URL
// holds them, with the secret of each URL's user information replaced by
// "xxxxx": the password of user:password@, or a token given alone (token@,
// which nats.go sends as a token). It does not need the URLs to be valid,
// so that a message about a malformed one hides its secret too.
func RedactURLs(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		parts[i] = redactURL(strings.TrimSpace(p))
	}
	return strings.Join(parts, ",")
}

// redactURL redacts one URL. The user information ends at the last '@':
// a host cannot hold one, a password may (badly encoded) hold anything.
func redactURL(u string) string {
	start := 0
	if i := strings.Index(u, "://"); i >= 0 {
		start = i + len("://")
	}
	at := strings.LastIndexByte(u[start:], '@')
	if at < 0 {
		return u
	}
	userinfo := u[start : start+at]
	secret := redactedSecret
	if user, _, ok := strings.Cut(userinfo, ":"); ok {
		secret = user + ":" + redactedSecret
	}
	return u[:start] + secret + u[start+at:]
}
