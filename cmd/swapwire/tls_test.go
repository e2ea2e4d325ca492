package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/swapwire/swapwire/internal/valueconv"
	"github.com/swapwire/swapwire/modelstore"
	"github.com/swapwire/swapwire/predict"
	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
	"github.com/swapwire/swapwire/serving"
)

const clientCN = "swapwire-test-client"

// clientSAN is the DNS name in the client certificate.
const clientSAN = "deployer.swapwire.test"

// clientIdentity makes the test client certificate an identity with role.
func clientIdentity(role serving.Role) serving.ServerOption {
	return serving.WithIdentities(serving.Identity{Name: "deployer", Role: role, Subject: "CN=" + clientCN})
}

// testPKI is a CA, a server certificate for 127.0.0.1 and a client
// certificate it signed, and a second CA that signed nothing here, all in
// PEM files.
type testPKI struct {
	ca, serverCert, serverKey, clientCert, clientKey, otherCA string
	strangerCert, strangerKey                                 string
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	dir := t.TempDir()
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	now := time.Now()
	serial := int64(0)
	// issue signs tmpl with parent's key (itself when parent is nil) and
	// writes the certificate, and the key when keyFile is set.
	issue := func(tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, certFile, keyFile string) (*x509.Certificate, *ecdsa.PrivateKey) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		serial++
		tmpl.SerialNumber = big.NewInt(serial)
		tmpl.NotBefore, tmpl.NotAfter = now.Add(-time.Minute), now.Add(time.Hour)
		if parent == nil {
			parent, parentKey = tmpl, key
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
		if err != nil {
			t.Fatal(err)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		write(certFile, "CERTIFICATE", der)
		if keyFile != "" {
			kder, err := x509.MarshalPKCS8PrivateKey(key)
			if err != nil {
				t.Fatal(err)
			}
			write(keyFile, "PRIVATE KEY", kder)
		}
		return cert, key
	}
	caTmpl := func(cn string) *x509.Certificate {
		return &x509.Certificate{
			Subject: pkix.Name{CommonName: cn}, IsCA: true, BasicConstraintsValid: true,
			KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		}
	}
	ca, caKey := issue(caTmpl("swapwire test CA"), nil, nil, "ca.pem", "")
	issue(caTmpl("another CA"), nil, nil, "other-ca.pem", "")
	issue(&x509.Certificate{
		Subject: pkix.Name{CommonName: "swapwire test server"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, ca, caKey, "server.pem", "server-key.pem")
	issue(&x509.Certificate{
		Subject: pkix.Name{CommonName: clientCN}, DNSNames: []string{clientSAN},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, ca, caKey, "client.pem", "client-key.pem")
	// A certificate the same CA signed for someone who is no identity.
	issue(&x509.Certificate{
		Subject:  pkix.Name{CommonName: "stranger"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, ca, caKey, "stranger.pem", "stranger-key.pem")
	return &testPKI{
		ca: filepath.Join(dir, "ca.pem"), otherCA: filepath.Join(dir, "other-ca.pem"),
		serverCert: filepath.Join(dir, "server.pem"), serverKey: filepath.Join(dir, "server-key.pem"),
		clientCert: filepath.Join(dir, "client.pem"), clientKey: filepath.Join(dir, "client-key.pem"),
		strangerCert: filepath.Join(dir, "stranger.pem"), strangerKey: filepath.Join(dir, "stranger-key.pem"),
	}
}

// clientCreds trusts the CA in caFile and, when certFile is set, presents
// that client certificate.
func clientCreds(t *testing.T, caFile, certFile, keyFile string) credentials.TransportCredentials {
	t.Helper()
	b, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatalf("%s: no certificate", caFile)
	}
	cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return credentials.NewTLS(cfg)
}

// remoteListener makes every accepted connection report remote as its peer
// address, so that a server on 127.0.0.1 sees a caller that is not on
// loopback.
type remoteListener struct {
	net.Listener
	remote net.Addr
}

func (l remoteListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return remoteConn{c, l.remote}, nil
}

type remoteConn struct {
	net.Conn
	remote net.Addr
}

func (c remoteConn) RemoteAddr() net.Addr { return c.remote }

// tlsServer is a Swapwire server whose model m answers "hello " + its text
// input, and which records the common name of each verified client
// certificate it sees.
type tlsServer struct {
	addr string
	mu   sync.Mutex
	cns  []string
}

func (s *tlsServer) clientCNs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.cns...)
}

// startTLSServer starts a server with creds (nil for plaintext) on
// 127.0.0.1; with remote set, callers appear to come from remote.
func startTLSServer(t *testing.T, creds credentials.TransportCredentials, remote net.Addr, opts ...serving.ServerOption) *tlsServer {
	t.Helper()
	ts := &tlsServer{}
	record := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if p, ok := peer.FromContext(ctx); ok {
			if ti, ok := p.AuthInfo.(credentials.TLSInfo); ok && len(ti.State.VerifiedChains) > 0 {
				ts.mu.Lock()
				ts.cns = append(ts.cns, ti.State.VerifiedChains[0][0].Subject.CommonName)
				ts.mu.Unlock()
			}
		}
		return handler(ctx, req)
	}
	gopts := []grpc.ServerOption{grpc.ChainUnaryInterceptor(record)}
	if creds != nil {
		gopts = append(gopts, grpc.Creds(creds))
	}
	hello := predict.PredictorFunc(func(_ context.Context, in predict.Value, _ predict.Option) (predict.Result, error) {
		return predict.Result{Label: predict.Text("hello " + in.Text())}, nil
	})
	srv, err := serving.New(func() predict.Predictor { return hello }, modelstore.NewStatic("m", t.TempDir()),
		append([]serving.ServerOption{serving.WithGRPCOptions(gopts...)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		t.Fatal(err)
	}
	ts.addr = lis.Addr().String()
	if remote != nil {
		lis = remoteListener{lis, remote}
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		if err := <-served; err != serving.ErrServerClosed {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	return ts
}

// dialTLS connects to addr with creds; Cleanup closes the connection.
func dialTLS(t *testing.T, addr string, creds credentials.TransportCredentials) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func helloRequest() *swapwirev1.PredictRequest {
	return &swapwirev1.PredictRequest{Model: "m", Input: valueconv.ValueToProto(predict.Text("tls"))}
}

func callCtx(t *testing.T, md ...string) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	if len(md) > 0 {
		ctx = metadata.AppendToOutgoingContext(ctx, md...)
	}
	return ctx
}

func wantCode(t *testing.T, what string, err error, code codes.Code, msg string) {
	t.Helper()
	if s, _ := status.FromError(err); s.Code() != code || !strings.Contains(s.Message(), msg) {
		t.Errorf("%s: %v; want %s with %q", what, err, code, msg)
	}
}

// TestMTLS serves with the serve command's TLS credentials requiring client
// certificates, and checks who gets through the handshake.
func TestMTLS(t *testing.T) {
	pki := newTestPKI(t)
	creds, err := serverTLS(pki.serverCert, pki.serverKey, pki.ca)
	if err != nil {
		t.Fatal(err)
	}
	ts := startTLSServer(t, creds, nil, clientIdentity(serving.RoleRead))

	t.Run("client certificate", func(t *testing.T) {
		conn := dialTLS(t, ts.addr, clientCreds(t, pki.ca, pki.clientCert, pki.clientKey))
		resp, err := swapwirev1.NewPredictionServiceClient(conn).Predict(callCtx(t), helloRequest())
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.GetOutput().GetText(); got != "hello tls" || resp.GetModel() != "m" || resp.GetVersion() != 1 {
			t.Fatalf("Predict answered %v", resp)
		}
		if cns := ts.clientCNs(); len(cns) != 1 || cns[0] != clientCN {
			t.Fatalf("server saw verified client certificates %q, want [%s]", cns, clientCN)
		}
		list, err := swapwirev1.NewModelServiceClient(conn).ListModels(callCtx(t), &swapwirev1.ListModelsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if ms := list.GetModels(); len(ms) != 1 || ms[0].GetName() != "m" || !ms[0].GetDefault() {
			t.Fatalf("ListModels answered %v", list)
		}
	})
	t.Run("no client certificate", func(t *testing.T) {
		conn := dialTLS(t, ts.addr, clientCreds(t, pki.ca, "", ""))
		_, err := swapwirev1.NewPredictionServiceClient(conn).Predict(callCtx(t), helloRequest())
		// With TLS 1.3 the client may finish its handshake before the
		// server refuses it, and see only the closed connection.
		wantCode(t, "Predict without a client certificate", err, codes.Unavailable, "")
	})
	t.Run("no client certificate, TLS 1.2", func(t *testing.T) {
		// With TLS 1.2 the server refuses within the client's handshake.
		b, err := os.ReadFile(pki.ca)
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(b)
		creds := credentials.NewTLS(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12})
		conn := dialTLS(t, ts.addr, creds)
		_, err = swapwirev1.NewPredictionServiceClient(conn).Predict(callCtx(t), helloRequest())
		wantCode(t, "Predict without a client certificate", err, codes.Unavailable, "authentication handshake failed: remote error: tls: handshake failure")
	})
	t.Run("server not trusted", func(t *testing.T) {
		conn := dialTLS(t, ts.addr, clientCreds(t, pki.otherCA, pki.clientCert, pki.clientKey))
		_, err := swapwirev1.NewPredictionServiceClient(conn).Predict(callCtx(t), helloRequest())
		wantCode(t, "Predict trusting another CA", err, codes.Unavailable, "certificate signed by unknown authority")
	})
	t.Run("plaintext", func(t *testing.T) {
		conn := dialTLS(t, ts.addr, insecure.NewCredentials())
		_, err := swapwirev1.NewPredictionServiceClient(conn).Predict(callCtx(t), helloRequest())
		wantCode(t, "Predict in plaintext", err, codes.Unavailable, "")
	})
	if cns := ts.clientCNs(); len(cns) != 2 {
		t.Errorf("server saw verified client certificates %q, want two calls from %s only", cns, clientCN)
	}
}

// TestAdminAccessOverTLS checks the admin rule: only a configured identity
// gets in, whatever the caller's address; a certificate the CA signed is
// not enough; a token needs TLS unless plaintext tokens are allowed; and a
// role bounds what an identity may do.
func TestAdminAccessOverTLS(t *testing.T) {
	pki := newTestPKI(t)
	mtls, err := serverTLS(pki.serverCert, pki.serverKey, pki.ca)
	if err != nil {
		t.Fatal(err)
	}
	serverOnly, err := serverTLS(pki.serverCert, pki.serverKey, "")
	if err != nil {
		t.Fatal(err)
	}
	remote := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 40000} // TEST-NET-1
	withCert := clientCreds(t, pki.ca, pki.clientCert, pki.clientKey)
	stranger := clientCreds(t, pki.ca, pki.strangerCert, pki.strangerKey)
	listModels := func(t *testing.T, addr string, creds credentials.TransportCredentials, md ...string) error {
		t.Helper()
		conn := dialTLS(t, addr, creds)
		// A prediction needs no admin right.
		if _, err := swapwirev1.NewPredictionServiceClient(conn).Predict(callCtx(t), helloRequest()); err != nil {
			t.Fatalf("Predict: %v", err)
		}
		_, err := swapwirev1.NewModelServiceClient(conn).ListModels(callCtx(t, md...), &swapwirev1.ListModelsRequest{})
		return err
	}
	deleteVersion := func(t *testing.T, addr string, creds credentials.TransportCredentials, md ...string) error {
		t.Helper()
		conn := dialTLS(t, addr, creds)
		_, err := swapwirev1.NewModelServiceClient(conn).DeleteVersion(callCtx(t, md...), &swapwirev1.DeleteVersionRequest{Model: "m", Version: 7})
		return err
	}

	t.Run("loopback plaintext, no identity", func(t *testing.T) {
		ts := startTLSServer(t, nil, nil)
		wantCode(t, "ListModels", listModels(t, ts.addr, insecure.NewCredentials()), codes.PermissionDenied, "no admin identity is configured")
	})
	t.Run("loopback plaintext, dev loopback admin", func(t *testing.T) {
		ts := startTLSServer(t, nil, nil, serving.WithDevLoopbackAdmin(true))
		if err := listModels(t, ts.addr, insecure.NewCredentials()); err != nil {
			t.Fatalf("ListModels from loopback in development mode: %v", err)
		}
	})
	t.Run("remote plaintext, dev loopback admin", func(t *testing.T) {
		ts := startTLSServer(t, nil, remote, serving.WithDevLoopbackAdmin(true))
		wantCode(t, "ListModels", listModels(t, ts.addr, insecure.NewCredentials()), codes.PermissionDenied, "no admin identity is configured")
	})
	t.Run("remote server-side TLS, no identity", func(t *testing.T) {
		ts := startTLSServer(t, serverOnly, remote)
		wantCode(t, "ListModels", listModels(t, ts.addr, clientCreds(t, pki.ca, "", "")), codes.PermissionDenied, "no admin identity is configured")
	})
	t.Run("client certificate by subject", func(t *testing.T) {
		ts := startTLSServer(t, mtls, remote, clientIdentity(serving.RoleRead))
		if err := listModels(t, ts.addr, withCert); err != nil {
			t.Fatalf("ListModels with an identity's certificate: %v", err)
		}
		wantCode(t, "DeleteVersion with role read", deleteVersion(t, ts.addr, withCert), codes.PermissionDenied, "identity deployer has role read")
	})
	t.Run("client certificate by SAN", func(t *testing.T) {
		ts := startTLSServer(t, mtls, remote, serving.WithIdentities(serving.Identity{Name: "by-san", Role: serving.RoleAdmin, SAN: clientSAN}))
		if err := listModels(t, ts.addr, withCert); err != nil {
			t.Fatalf("ListModels with a certificate matched by SAN: %v", err)
		}
		wantCode(t, "DeleteVersion with role admin", deleteVersion(t, ts.addr, withCert), codes.FailedPrecondition, "read-only")
	})
	t.Run("certificate the CA signed for no identity", func(t *testing.T) {
		ts := startTLSServer(t, mtls, nil, clientIdentity(serving.RoleAdmin))
		wantCode(t, "ListModels", listModels(t, ts.addr, stranger), codes.PermissionDenied, `client certificate "CN=stranger" matches no admin identity`)
	})
	t.Run("token over TLS", func(t *testing.T) {
		ts := startTLSServer(t, mtls, remote, serving.WithIdentities(serving.Identity{Name: "ci", Role: serving.RoleDeploy, Token: "s3cret-token"}))
		wantCode(t, "ListModels with a wrong token", listModels(t, ts.addr, stranger, "authorization", "Bearer guess"), codes.Unauthenticated, "unknown bearer token")
		if err := listModels(t, ts.addr, stranger, "authorization", "Bearer s3cret-token"); err != nil {
			t.Fatalf("ListModels with the token: %v", err)
		}
		wantCode(t, "DeleteVersion with role deploy", deleteVersion(t, ts.addr, stranger, "authorization", "Bearer s3cret-token"), codes.PermissionDenied, "identity ci has role deploy")
	})
	t.Run("token over plaintext", func(t *testing.T) {
		ts := startTLSServer(t, nil, nil, serving.WithAdminToken("s3cret-token"))
		wantCode(t, "ListModels", listModels(t, ts.addr, insecure.NewCredentials(), "authorization", "Bearer s3cret-token"), codes.Unauthenticated, "refused over a plaintext connection")
	})
	t.Run("token over plaintext, allowed", func(t *testing.T) {
		ts := startTLSServer(t, nil, nil, serving.WithAdminToken("s3cret-token"), serving.WithPlaintextTokens(true))
		if err := listModels(t, ts.addr, insecure.NewCredentials(), "authorization", "Bearer s3cret-token"); err != nil {
			t.Fatalf("ListModels: %v", err)
		}
	})
}

// dispatchOut runs the CLI and returns its exit code, stdout and stderr.
func dispatchOut(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := dispatch(args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestCLITLSFlags drives client commands with --tls-ca, --tls-cert and
// --tls-key against an mTLS server with an admin token.
func TestCLITLSFlags(t *testing.T) {
	pki := newTestPKI(t)
	creds, err := serverTLS(pki.serverCert, pki.serverKey, pki.ca)
	if err != nil {
		t.Fatal(err)
	}
	ts := startTLSServer(t, creds, nil, serving.WithAdminToken("s3cret"))
	addr := "--addr=" + ts.addr
	tokenFile := writeSecret(t, "s3cret\n")
	tlsArgs := []string{addr, "--tls-ca", pki.ca, "--tls-cert", pki.clientCert, "--tls-key", pki.clientKey}

	po, err := predictJSON(append(tlsArgs, "--model", "m", "--text", "cli")...)
	if err != nil {
		t.Fatal(err)
	}
	if po.Model != "m" || po.Version != 1 || po.Output.Text == nil || *po.Output.Text != "hello cli" {
		t.Fatalf("predict printed %+v", po)
	}
	if out := run(t, append([]string{"models", "--token-file", tokenFile}, tlsArgs...)...); !regexpLine(out, "m", "(default)", "1", "serving") {
		t.Fatalf("models printed:\n%s", out)
	}
	if cns := ts.clientCNs(); len(cns) != 2 || cns[0] != clientCN || cns[1] != clientCN {
		t.Fatalf("server saw verified client certificates %q, want two calls from %s", cns, clientCN)
	}

	tests := []struct {
		name string
		args []string
		msg  string
	}{
		{"models without the token", append([]string{"models"}, tlsArgs...), "matches no admin identity"},
		{"missing token file", append([]string{"models", "--token-file", filepath.Join(t.TempDir(), "none")}, tlsArgs...), "--token-file"},
		{"no client certificate", []string{"predict", addr, "--tls-ca", pki.ca, "--text", "x"}, "code = Unavailable"},
		{"another CA", []string{"predict", addr, "--tls-ca", pki.otherCA, "--tls-cert", pki.clientCert, "--tls-key", pki.clientKey, "--text", "x"}, "certificate signed by unknown authority"},
		{"plaintext", []string{"predict", addr, "--text", "x"}, "code = Unavailable"},
		{"missing CA file", []string{"predict", addr, "--tls-ca", filepath.Join(t.TempDir(), "none.pem"), "--text", "x"}, "no such file"},
		{"CA file without certificates", []string{"predict", addr, "--tls-ca", pki.clientKey, "--text", "x"}, "no certificate found"},
	}
	if code, _, errb := dispatchOut(append([]string{"models", "--token", "s3cret"}, tlsArgs...)...); code != 2 || !strings.Contains(errb, "unknown flag: --token") {
		t.Errorf("a token on the command line: exit %d, stderr %q; want a usage error", code, errb)
	}
	for _, tt := range tests {
		code, out, errb := dispatchOut(tt.args...)
		if code != 1 || out != "" || !strings.Contains(errb, tt.msg) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 1 with %q", tt.name, code, out, errb, tt.msg)
		}
	}
}

// TestServeTLSFlags runs the serve command with --tls-cert, --tls-key and
// --tls-client-ca and reaches it with the client commands' TLS flags.
func TestServeTLSFlags(t *testing.T) {
	pki := newTestPKI(t)
	ids := writeSecret(t, "deployer read subject:CN="+clientCN+"\n")
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	httpAddr := hl.Addr().String()
	hl.Close()
	r := startServe(t, "--model-dir", t.TempDir(), "--worker-addr", "127.0.0.1:1", "--admin-tokens-file", ids,
		"--tls-cert", pki.serverCert, "--tls-key", pki.serverKey, "--tls-client-ca", pki.ca, "--http-listen", httpAddr)
	addr := "--addr=" + r.addr

	// The HTTP listener serves HTTPS with the same certificate, and the
	// client certificate is the same identity as over gRPC.
	caPEM, err := os.ReadFile(pki.ca)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	clientCert, err := tls.LoadX509KeyPair(pki.clientCert, pki.clientKey)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{clientCert}}}}
	resp, err := hc.Get("https://" + httpAddr + "/api/v1/whoami")
	if err != nil {
		t.Fatalf("HTTPS with a client certificate: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"deployer"`) || !strings.Contains(string(body), `"read"`) {
		t.Fatalf("whoami over HTTPS: %d %s, want the deployer identity with role read", resp.StatusCode, body)
	}
	if resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + httpAddr + "/api/v1/whoami"); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("plain HTTP to the HTTPS listener answered %d", resp.StatusCode)
		}
	}

	if out := run(t, "models", addr, "--tls-ca", pki.ca, "--tls-cert", pki.clientCert, "--tls-key", pki.clientKey); !strings.HasPrefix(out, "MODEL") || strings.Count(out, "\n") != 1 {
		t.Fatalf("models on an empty store printed %q, want the header only", out)
	}
	if code, _, errb := dispatchOut("models", addr, "--tls-ca", pki.ca); code != 1 || !strings.Contains(errb, "code = Unavailable") {
		t.Errorf("models without a client certificate: exit %d, stderr %q", code, errb)
	}
	if err := r.stop(t); err != nil {
		t.Fatalf("serve returned %v, want nil", err)
	}

	missing := filepath.Join(t.TempDir(), "none.pem")
	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--tls-cert", missing, "--tls-key", pki.serverKey}, "no such file"},
		{[]string{"--admin-tokens-file", missing}, "no such file"},
		{[]string{"--tls-cert", pki.serverCert, "--tls-key", pki.clientKey}, "private key does not match public key"},
		{[]string{"--tls-cert", pki.serverCert, "--tls-key", pki.serverKey, "--tls-client-ca", pki.serverKey}, "no certificate found"},
	} {
		args := append([]string{"serve", "--model-dir", t.TempDir(), "--worker-addr", "127.0.0.1:1", "--listen", "127.0.0.1:0"}, tt.args...)
		if code, _, errb := dispatchOut(args...); code != 1 || !strings.Contains(errb, tt.msg) {
			t.Errorf("swapwire %q: exit %d, stderr %q; want exit 1 with %q", args, code, errb, tt.msg)
		}
	}
}

// writeSecret writes text to a file only its owner may read and returns
// its path.
func writeSecret(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
