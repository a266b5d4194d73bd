package rpc

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// alpn names the protocol in the TLS handshake, so a TLS endpoint of some
// other service sharing certificates cannot be mistaken for this one.
const alpn = "cloister-rpc/1"

// security holds the TLS configuration of an endpoint, used for both
// directions: nil in insecure mode, a clone of Config.TLS in TLS mode, and
// in secret mode one built from the secret by the first connection that
// needs it, dialled or accepted (see config).
type security struct {
	secret []byte                            // secret mode: a copy of Config.Secret, dropped once built
	build  func([]byte) (*tls.Config, error) // identityTLS for the endpoint's ID; tests replace it
	once   sync.Once
	conf   *tls.Config  // ServerName is filled in per dial when empty
	err    error        // why the secret-derived configuration could not be built
	builds atomic.Int32 // identities built: at most one; for tests
	// bindsID: the peer's certificate names the peer ID it may claim in
	// its hello (secret mode).
	bindsID bool
}

// newSecurity does nothing expensive: in secret mode it keeps a copy of the
// secret, whose length Config.setDefaults has checked, and leaves deriving
// the key and making the certificate to the first connection.
func newSecurity(cfg *Config) *security {
	switch {
	case cfg.Secret != nil:
		// Copies, so that a caller who reuses or wipes its slices after
		// New does not change the identity built later.
		accept := make([][]byte, 0, 1+len(cfg.AcceptSecrets))
		for _, a := range append([][]byte{cfg.Secret}, cfg.AcceptSecrets...) {
			accept = append(accept, bytes.Clone(a))
		}
		id := cfg.ID
		return &security{secret: bytes.Clone(cfg.Secret), bindsID: true, build: func(primary []byte) (*tls.Config, error) {
			return identityTLS(primary, accept, id)
		}}
	case cfg.TLS != nil:
		c := cfg.TLS.Clone()
		c.NextProtos = []string{alpn}
		return &security{conf: c}
	default:
		return &security{}
	}
}

// config returns the TLS configuration, nil in insecure mode. In secret
// mode the first call builds it: derives the key, makes and signs the
// certificate (what that costs is in the package documentation, under
// Security). Concurrent first callers wait for that one build and all get
// its result. A failure, which a secret of valid length cannot cause with
// secretTLS, is returned to every caller, first and later, and not retried.
func (s *security) config() (*tls.Config, error) {
	s.once.Do(s.buildOnce)
	return s.conf, s.err
}

func (s *security) buildOnce() {
	if s.secret == nil {
		return
	}
	s.builds.Add(1)
	conf, err := s.build(s.secret)
	s.secret = nil
	if err != nil {
		s.err = fmt.Errorf("rpc: building the TLS identity from Config.Secret: %w", err)
		return
	}
	s.conf = conf
}

// clientConfig returns the configuration for dialling addr, nil in
// insecure mode.
func (s *security) clientConfig(addr netip.AddrPort) (*tls.Config, error) {
	c, err := s.config()
	if c == nil || err != nil || c.ServerName != "" || c.InsecureSkipVerify {
		return c, err
	}
	c = c.Clone()
	c.ServerName = addr.Addr().String()
	return c, nil
}

// deriveIdentity turns the cluster secret and a peer ID into an ed25519
// key, domain separated from every other use of the secret: each member's
// key is its own, so that its certificate proves the ID it claims.
func deriveIdentity(secret []byte, id string) (ed25519.PrivateKey, error) {
	seed, err := hkdf.Key(sha256.New, secret, []byte("cloister/rpc"), "cloister/rpc/ed25519/v2\x00"+id, ed25519.SeedSize)
	if err != nil {
		return nil, err
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// errNotOurKey is returned by certificate verification; the handshake fails.
var errNotOurKey = errors.New("rpc: peer certificate key is not derived from the cluster secret and its ID")

// secretTLS is identityTLS for one secret and the empty ID.
func secretTLS(secret []byte) (*tls.Config, error) { return identityTLS(secret, [][]byte{secret}, "") }

// certID returns the peer ID a certificate made by identityTLS names.
func certID(cert *x509.Certificate) string { return cert.Subject.CommonName }

// maxKeyCache bounds the peer keys a verifier remembers; when full, it
// starts over.
const maxKeyCache = 4096

// identityTLS builds a TLS 1.3 configuration, used for both directions, in
// which each side presents a self-signed certificate naming its peer ID
// (the subject's common name) for the key derived from the primary secret
// and that ID, and accepts a peer whose certificate's key is the one
// derived from one of the accepted secrets and the ID the certificate
// names. Chains, other names and validity dates mean nothing here:
// possession of the private key, proven by TLS's CertificateVerify
// signature over the handshake transcript, is the authentication, and the
// hello that follows must claim the ID the certificate names.
func identityTLS(primary []byte, accept [][]byte, id string) (*tls.Config, error) {
	key, err := deriveIdentity(primary, id)
	if err != nil {
		return nil, err
	}
	pub := key.Public().(ed25519.PublicKey)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: id},
		NotBefore:    time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, key)
	if err != nil {
		return nil, err
	}
	type cacheKey struct {
		secret int
		id     string
	}
	var (
		mu    sync.Mutex
		known = map[cacheKey]ed25519.PublicKey{}
	)
	expected := func(i int, id string) (ed25519.PublicKey, error) {
		k := cacheKey{i, id}
		mu.Lock()
		p, ok := known[k]
		mu.Unlock()
		if ok {
			return p, nil
		}
		priv, err := deriveIdentity(accept[i], id)
		if err != nil {
			return nil, err
		}
		return priv.Public().(ed25519.PublicKey), nil
	}
	remember := func(i int, id string, p ed25519.PublicKey) {
		mu.Lock()
		defer mu.Unlock()
		if len(known) >= maxKeyCache {
			clear(known)
		}
		known[cacheKey{i, id}] = p
	}
	verify := func(raw [][]byte, _ [][]*x509.Certificate) error {
		if len(raw) != 1 {
			return errNotOurKey
		}
		cert, err := x509.ParseCertificate(raw[0])
		if err != nil {
			return errNotOurKey
		}
		got, ok := cert.PublicKey.(ed25519.PublicKey)
		if !ok || len(certID(cert)) > maxIDLen {
			return errNotOurKey
		}
		for i := range accept {
			want, err := expected(i, certID(cert))
			if err == nil && got.Equal(want) {
				remember(i, certID(cert), want)
				return nil
			}
		}
		return errNotOurKey
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		MaxVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		// Both sides must present the key; standard chain verification is
		// replaced by the pin in VerifyPeerCertificate, which crypto/tls
		// calls on both sides before the handshake completes.
		ClientAuth:             tls.RequireAnyClientCert,
		InsecureSkipVerify:     true,
		VerifyPeerCertificate:  verify,
		NextProtos:             []string{alpn},
		ServerName:             "cloister-rpc",
		SessionTicketsDisabled: true,
	}, nil
}

// peerCertID returns the peer ID the peer's certificate proves, when the
// endpoint binds IDs to certificates.
func (s *security) peerCertID(c net.Conn) (string, bool) {
	tc, ok := c.(*tls.Conn)
	if !s.bindsID || !ok {
		return "", false
	}
	certs := tc.ConnectionState().PeerCertificates
	if len(certs) != 1 {
		return "", false
	}
	return certID(certs[0]), true
}
