package rpc

import (
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net/netip"
	"time"
)

// alpn names the protocol in the TLS handshake, so a TLS endpoint of some
// other service sharing certificates cannot be mistaken for this one.
const alpn = "cloister-rpc/1"

// security holds the TLS configurations of an endpoint; both nil in
// insecure mode.
type security struct {
	server *tls.Config
	client *tls.Config // ServerName is filled in per dial when empty
}

func newSecurity(cfg *Config) (*security, error) {
	switch {
	case cfg.Secret != nil:
		c, err := secretTLS(cfg.Secret)
		if err != nil {
			return nil, err
		}
		return &security{server: c, client: c}, nil
	case cfg.TLS != nil:
		s := cfg.TLS.Clone()
		s.NextProtos = []string{alpn}
		return &security{server: s, client: s}, nil
	default:
		return &security{}, nil
	}
}

// clientConfig returns the configuration for dialling addr.
func (s *security) clientConfig(addr netip.AddrPort) *tls.Config {
	if s.client.ServerName != "" || s.client.InsecureSkipVerify {
		return s.client
	}
	c := s.client.Clone()
	c.ServerName = addr.Addr().String()
	return c
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
