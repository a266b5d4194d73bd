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
	build  func([]byte) (*tls.Config, error) // secretTLS; tests replace it
	once   sync.Once
	conf   *tls.Config  // ServerName is filled in per dial when empty
	err    error        // why the secret-derived configuration could not be built
	builds atomic.Int32 // identities built: at most one; for tests
}

// newSecurity does nothing expensive: in secret mode it keeps a copy of the
// secret, whose length Config.setDefaults has checked, and leaves deriving
// the key and making the certificate to the first connection.
func newSecurity(cfg *Config) *security {
	switch {
	case cfg.Secret != nil:
		// A copy, so that a caller who reuses or wipes its slice after
		// New does not change the identity built later.
		return &security{secret: bytes.Clone(cfg.Secret), build: secretTLS}
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

// deriveIdentity turns the cluster secret into an ed25519 key, domain
// separated from every other use of the secret.
func deriveIdentity(secret []byte) (ed25519.PrivateKey, error) {
	seed, err := hkdf.Key(sha256.New, secret, []byte("cloister/rpc"), "cloister/rpc/ed25519/v1", ed25519.SeedSize)
	if err != nil {
		return nil, err
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// errNotOurKey is returned by certificate verification; the handshake fails.
var errNotOurKey = errors.New("rpc: peer certificate key is not derived from the cluster secret")

// secretTLS builds a TLS 1.3 configuration, used for both directions, in
// which each side presents a self-signed certificate for the key derived
// from the secret and accepts only a peer presenting the same key. Chains,
// names and validity dates mean nothing here: possession of the private key,
// proven by TLS's CertificateVerify signature over the handshake
// transcript, is the authentication.
func secretTLS(secret []byte) (*tls.Config, error) {
	key, err := deriveIdentity(secret)
	if err != nil {
		return nil, err
	}
	pub := key.Public().(ed25519.PublicKey)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "cloister-rpc"},
		NotBefore:    time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, key)
	if err != nil {
		return nil, err
	}
	verify := func(raw [][]byte, _ [][]*x509.Certificate) error {
		if len(raw) != 1 {
			return errNotOurKey
		}
		cert, err := x509.ParseCertificate(raw[0])
		if err != nil {
			return errNotOurKey
		}
		if got, ok := cert.PublicKey.(ed25519.PublicKey); !ok || !got.Equal(pub) {
			return errNotOurKey
		}
		return nil
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
