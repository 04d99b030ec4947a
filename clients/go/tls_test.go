package adksessions_test

// The client over HTTPS to the real server (`serve --tls-cert --tls-key`): adk-go's
// session calls work through WithHTTPClient with a client that trusts the server's
// certificate, and an untrusted certificate is ErrUnreachable before anything is sent.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/adk/v2/session"

	adksessions "github.com/adk-sessions/adk-sessions/clients/go"
)

// selfSignedPair writes a self-signed certificate for 127.0.0.1 and its key (PEM) into
// dir and returns their paths and a pool that trusts the certificate.
func selfSignedPair(t *testing.T, dir string) (certPath, keyPath string, roots *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "adk-sessions Go client test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	roots = x509.NewCertPool()
	roots.AddCert(cert)
	return certPath, keyPath, roots
}

func httpsClient(roots *x509.CertPool) *http.Client {
	return &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}},
	}
}

func TestHTTPS(t *testing.T) {
	certPath, keyPath, roots := selfSignedPair(t, t.TempDir())
	srv := startServerOver(t, "https", httpsClient(roots), "memory://", "--tls-cert", certPath, "--tls-key", keyPath)

	t.Run("trusted certificate: adk-go's calls work", func(t *testing.T) {
		svc, err := adksessions.NewService(srv.URL, adksessions.WithHTTPClient(httpsClient(roots)))
		if err != nil {
			t.Fatalf("NewService(%s): %v", srv.URL, err)
		}
		s := mustCreate(t, svc, "tls-user", "tls-session", map[string]any{"user:lang": "en"})
		if err := svc.AppendEvent(t.Context(), s, textEvent("tls-ev", "user", "over TLS", map[string]any{"turns": float64(1)})); err != nil {
			t.Fatalf("AppendEvent over HTTPS: %v", err)
		}
		got := mustGet(t, svc, "tls-user", "tls-session")
		if n := got.Events().Len(); n != 1 {
			t.Fatalf("events over HTTPS: %d, want 1", n)
		}
		if v, err := got.State().Get("turns"); err != nil || v != float64(1) {
			t.Fatalf("state turns over HTTPS: %v, %v", v, err)
		}
	})

	t.Run("untrusted certificate: unreachable, nothing sent", func(t *testing.T) {
		// The system's roots do not hold the test certificate.
		_, err := adksessions.NewService(srv.URL, adksessions.WithHTTPClient(&http.Client{Timeout: 5 * time.Second}))
		if !errors.Is(err, adksessions.ErrUnreachable) {
			t.Fatalf("NewService with an untrusted certificate: %v, want ErrUnreachable", err)
		}
		svc, err := adksessions.NewService(srv.URL, adksessions.WithHTTPClient(&http.Client{Timeout: 5 * time.Second}), adksessions.WithoutStartupCheck())
		if err != nil {
			t.Fatalf("NewService without the startup check: %v", err)
		}
		_, err = svc.Create(t.Context(), &session.CreateRequest{AppName: app, UserID: "tls-user", SessionID: "never"})
		if !errors.Is(err, adksessions.ErrUnreachable) {
			t.Fatalf("Create with an untrusted certificate: %v, want ErrUnreachable", err)
		}
		trusted, err := adksessions.NewService(srv.URL, adksessions.WithHTTPClient(httpsClient(roots)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := trusted.Get(t.Context(), &session.GetRequest{AppName: app, UserID: "tls-user", SessionID: "never"}); !errors.Is(err, adksessions.ErrNotFound) {
			t.Fatalf("Get of the session created through the untrusted connection: %v, want ErrNotFound", err)
		}
	})
}
