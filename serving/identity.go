package serving

import (
	"bufio"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// An Identity is a caller the admin gate knows, with the role it holds.
// It is authenticated by exactly one credential: a bearer token (sent as
// "authorization: Bearer <token>" metadata), or a verified TLS client
// certificate whose subject or one of whose subject alternative names
// matches.
type Identity struct {
	// Name names the caller in the admin log ("ci", "alice").
	Name string
	// Role is the most the caller may do: RoleRead, RoleDeploy or RoleAdmin.
	Role Role
	// Token is a bearer token. Keep it out of command lines and logs.
	Token string
	// Subject is a client certificate's subject as crypto/x509 prints it,
	// such as "CN=deployer,O=Example".
	Subject string
	// SAN is a DNS name, URI, e-mail address or IP address that a client
	// certificate lists among its subject alternative names.
	SAN string
}

// ParseRole parses "read", "deploy" or "admin".
func ParseRole(s string) (Role, error) {
	switch s {
	case "read":
		return RoleRead, nil
	case "deploy":
		return RoleDeploy, nil
	case "admin":
		return RoleAdmin, nil
	}
	return RolePublic, fmt.Errorf("role %q: want read, deploy or admin", s)
}

// validate checks one identity.
func (id Identity) validate() error {
	if id.Name == "" || strings.ContainsAny(id.Name, " \t\n") {
		return fmt.Errorf("identity name %q: want a non-empty word", id.Name)
	}
	if id.Role < RoleRead || id.Role > RoleAdmin {
		return fmt.Errorf("identity %s: role must be read, deploy or admin", id.Name)
	}
	n := 0
	for _, c := range []string{id.Token, id.Subject, id.SAN} {
		if c != "" {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("identity %s: give exactly one of a token, a certificate subject or a SAN", id.Name)
	}
	return nil
}

func validateIdentities(ids []Identity) error {
	tokens := map[[32]byte]string{}
	for _, id := range ids {
		if err := id.validate(); err != nil {
			return fmt.Errorf("serving: %w", err)
		}
		if id.Token != "" {
			h := sha256.Sum256([]byte(id.Token))
			if other, ok := tokens[h]; ok {
				return fmt.Errorf("serving: identities %s and %s have the same token", other, id.Name)
			}
			tokens[h] = id.Name
		}
	}
	return nil
}

// ParseIdentities reads identities, one a line: a name, a role and a
// credential, separated by blanks. The credential is "token:<token>",
// "subject:<certificate subject>" or "san:<subject alternative name>".
// Blank lines and lines starting with # are skipped.
//
//	# name     role    credential
//	ci         deploy  token:3f9a0c...
//	oncall     admin   token:77b1e4...
//	gateway    deploy  subject:CN=gateway,O=Example
//	dashboard  read    san:dashboard.example.com
//
// Errors name the line, never the token.
func ParseIdentities(r io.Reader) ([]Identity, error) {
	var ids []Identity
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		f := strings.Fields(text)
		if len(f) < 3 {
			return nil, fmt.Errorf("identities line %d: want NAME ROLE token:|subject:|san:CREDENTIAL", line)
		}
		role, err := ParseRole(f[1])
		if err != nil {
			return nil, fmt.Errorf("identities line %d: %v", line, err)
		}
		cred := strings.TrimSpace(text[strings.Index(text, f[2]):])
		id := Identity{Name: f[0], Role: role}
		kind, val, _ := strings.Cut(cred, ":")
		switch kind {
		case "token":
			id.Token = val
		case "subject":
			id.Subject = val
		case "san":
			id.SAN = val
		default:
			return nil, fmt.Errorf("identities line %d: the credential must start with token:, subject: or san:", line)
		}
		if err := id.validate(); err != nil {
			return nil, fmt.Errorf("identities line %d: %v", line, err)
		}
		ids = append(ids, id)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return ids, nil
}

// LoadIdentitiesFile reads identities from a file in the format of
// [ParseIdentities]. A file that others may read or write is refused, as
// ssh refuses such a key.
func LoadIdentitiesFile(path string) ([]Identity, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s: mode %v lets others read it; chmod 600 it", path, st.Mode().Perm())
	}
	ids, err := ParseIdentities(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ids, nil
}

// matchToken returns the identity whose token is tok. Every token is
// compared, in constant time, so the time taken says nothing of which
// matched.
func matchToken(ids []Identity, tok string) (Identity, bool) {
	var found Identity
	ok := false
	for _, id := range ids {
		if id.Token == "" {
			continue
		}
		if subtle.ConstantTimeCompare([]byte(id.Token), []byte(tok)) == 1 {
			found, ok = id, true
		}
	}
	return found, ok
}

// matchCert returns the identity that a verified client certificate
// matches by subject or subject alternative name.
func matchCert(ids []Identity, c *x509.Certificate) (Identity, bool) {
	sans := slices.Clone(c.DNSNames)
	sans = append(sans, c.EmailAddresses...)
	for _, u := range c.URIs {
		sans = append(sans, u.String())
	}
	for _, ip := range c.IPAddresses {
		sans = append(sans, ip.String())
	}
	subject := c.Subject.String()
	for _, id := range ids {
		if id.Subject != "" && id.Subject == subject {
			return id, true
		}
		if id.SAN != "" && slices.Contains(sans, id.SAN) {
			return id, true
		}
	}
	return Identity{}, false
}

// errNoIdentity is the answer to an admin call on a server that knows no
// identity: it says how to configure one.
var errNoIdentity = errors.New("admin calls are refused: no admin identity is configured. " +
	"Set SWAPWIRE_ADMIN_TOKEN or list tokens and client-certificate identities in --admin-tokens-file " +
	"(library: serving.WithIdentities); for local development only, --dev-loopback-admin (serving.WithDevLoopbackAdmin)")
