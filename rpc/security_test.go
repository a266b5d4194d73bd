package rpc

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/cloister-go/cloister/transport"
)

var otherSecret = []byte("another-cluster-secret-98765")

func TestWrongSecretCannotCall(t *testing.T) {
	noLeaks(t)
	b, bp := node(t, Config{Secret: testSecret})
	ran := make(chan struct{}, 1)
	b.Handle("echo", func(ctx context.Context, r Request) ([]byte, error) {
		ran <- struct{}{}
		return r.Body, nil
	})
	intruder, _ := node(t, Config{Secret: otherSecret})
	if _, err := intruder.Call(testCtx(t), bp, "echo", nil); !errors.Is(err, ErrAuth) {
		t.Fatalf("call with another secret: %v, want ErrAuth", err)
	}
	if err := intruder.Cast(context.Background(), bp, "echo", nil); !errors.Is(err, ErrAuth) {
		t.Fatalf("cast with another secret: %v, want ErrAuth", err)
	}
	select {
	case <-ran:
		t.Fatal("a handler ran for a peer with another secret")
	default:
	}
	// A raw TLS client with the other secret's certificate: once the
	// server hangs up it has counted the failure.
	before := b.Stats().AuthFailures
	rawTLSAttempt(t, bp.Addr, otherSecret)
	if got := b.Stats().AuthFailures; got <= before {
		t.Fatalf("AuthFailures %d, want more than %d", got, before)
	}
	friend, _ := node(t, Config{Secret: testSecret})
	if got, err := friend.Call(testCtx(t), bp, "echo", []byte("ok")); err != nil || string(got) != "ok" {
		t.Fatalf("call with the right secret: %q, %v", got, err)
	}
}

// rawTLSAttempt dials addr, fails a TLS handshake with secret's certificate
// and waits until the server closes the connection.
func rawTLSAttempt(t *testing.T, addr netip.AddrPort, secret []byte) {
	t.Helper()
	tr := listen(t)
	nc, err := tr.Dial(testCtx(t), addr, transport.KindCall)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	cfg, err := secretTLS(secret)
	if err != nil {
		t.Fatal(err)
	}
	_ = nc.SetDeadline(time.Now().Add(waitTimeout))
	if err := tls.Client(nc, cfg).Handshake(); err == nil {
		t.Fatal("handshake with another secret succeeded")
	}
	if _, err := io.Copy(io.Discard, nc); err != nil && !isReset(err) {
		t.Fatalf("waiting for the server to close: %v", err)
	}
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && !op.Timeout()
}

func TestDerivedIdentity(t *testing.T) {
	k1, _ := deriveIdentity(testSecret, "a")
	k2, _ := deriveIdentity(testSecret, "a")
	k3, _ := deriveIdentity(otherSecret, "a")
	k4, _ := deriveIdentity(testSecret, "b")
	if !k1.Equal(k2) {
		t.Fatal("one secret and ID derived two keys")
	}
	if k1.Equal(k3) {
		t.Fatal("two secrets derived one key")
	}
	if k1.Equal(k4) {
		t.Fatal("two IDs derived one key")
	}
	if bytes.Contains([]byte(k1.Public().(ed25519.PublicKey)), testSecret) {
		t.Fatal("public key contains the secret")
	}
}

// selfSigned makes a CA certificate for 127.0.0.1 that is its own root.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(7),
		Subject:               pkix.Name{CommonName: "test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

func TestUserMutualTLS(t *testing.T) {
	noLeaks(t)
	cert, pool := selfSigned(t)
	mtls := &tls.Config{
		Certificates: []tls.Certificate{cert},
		RootCAs:      pool,
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS13,
	}
	a, _ := node(t, Config{TLS: mtls})
	b, bp := node(t, Config{TLS: mtls})
	b.Handle("echo", echo)
	if got, err := a.Call(testCtx(t), bp, "echo", []byte("mtls")); err != nil || string(got) != "mtls" {
		t.Fatalf("mTLS call: %q, %v", got, err)
	}
	// Without a client certificate the server refuses.
	other, otherPool := selfSigned(t)
	stranger, _ := node(t, Config{TLS: &tls.Config{Certificates: []tls.Certificate{other}, RootCAs: pool, MinVersion: tls.VersionTLS13}})
	if _, err := stranger.Call(testCtx(t), bp, "echo", nil); !errors.Is(err, ErrAuth) {
		t.Fatalf("call with an unknown client certificate: %v, want ErrAuth", err)
	}
	// A server the client does not trust is refused by the client.
	distrust, _ := node(t, Config{TLS: &tls.Config{Certificates: []tls.Certificate{other}, RootCAs: otherPool, MinVersion: tls.VersionTLS13}})
	if _, err := distrust.Call(testCtx(t), bp, "echo", nil); !errors.Is(err, ErrAuth) {
		t.Fatalf("call to an untrusted server: %v, want ErrAuth", err)
	}
}

// garbageClient opens a call stream to addr with a raw client, optionally
// completes the TLS handshake with secret and the hello, then sends junk
// and waits for the server to close the connection.
func garbageClient(t *testing.T, addr netip.AddrPort, secret []byte, hello bool, junk []byte) {
	t.Helper()
	tr := listen(t)
	nc, err := tr.Dial(testCtx(t), addr, transport.KindCall)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(waitTimeout))
	var c net.Conn = nc
	if secret != nil {
		cfg, _ := identityTLS(secret, [][]byte{secret}, helloFor("").id)
		tc := tls.Client(nc, cfg)
		if err := tc.Handshake(); err != nil {
			t.Fatal(err)
		}
		c = tc
	}
	if hello {
		if _, err := c.Write(appendHello(nil, helloFor(""))); err != nil {
			t.Fatal(err)
		}
		if _, err := readHello(bufio.NewReader(c)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Write(junk); err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, c); err != nil && !isReset(err) && !errors.Is(err, io.EOF) {
		var alert tls.AlertError
		if !errors.As(err, &alert) {
			t.Fatalf("waiting for the server to close: %v", err)
		}
	}
}

func helloFor(want string) hello { return hello{version: protoVersion, id: "raw", want: want} }

func TestGarbageClosesConnectionAndIsCounted(t *testing.T) {
	noLeaks(t)
	junk := []byte("\xde\xad\xbe\xef GET / HTTP/1.1\r\n\r\n and some more bytes to fill a header")
	for _, tc := range []struct {
		name   string
		cfg    Config
		secret []byte // raw client completes TLS with it
		hello  bool
	}{
		{"not TLS", Config{Secret: testSecret}, nil, false},
		{"junk frames after TLS and hello", Config{Secret: testSecret}, testSecret, true},
		{"junk instead of hello, insecure", Config{Insecure: true}, nil, false},
		{"junk frames after hello, insecure", Config{Insecure: true}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, bp := node(t, tc.cfg)
			b.Handle("echo", echo)
			garbageClient(t, bp.Addr, tc.secret, tc.hello, junk)
			if n := b.Stats().ProtocolErrors; n != 1 {
				t.Fatalf("ProtocolErrors = %d, want 1", n)
			}
			// The server still serves everyone else.
			a, _ := node(t, tc.cfg)
			if got, err := a.Call(testCtx(t), bp, "echo", []byte("still here")); err != nil || string(got) != "still here" {
				t.Fatalf("after garbage: %q, %v", got, err)
			}
		})
	}
}

// A frame that is valid on its own but has no place after the hello.
func TestSecondHelloIsProtocolError(t *testing.T) {
	noLeaks(t)
	b, bp := node(t, Config{Insecure: true})
	garbageClient(t, bp.Addr, nil, true, appendHello(nil, helloFor("")))
	if n := b.Stats().ProtocolErrors; n != 1 {
		t.Fatalf("ProtocolErrors = %d, want 1", n)
	}
}
