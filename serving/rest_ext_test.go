package serving_test

import (
	"archive/tar"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"io"
	"math"
	"math/big"
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/status"

	"github.com/swapwire/swapwire/modelstore"
	inferencepb "github.com/swapwire/swapwire/proto/inference"
	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
	"github.com/swapwire/swapwire/serving"
	"github.com/swapwire/swapwire/serving/servingtest"
)

// startHTTP serves s's HTTP listener on 127.0.0.1 and returns its base URL.
func startHTTP(t *testing.T, s *servingtest.Server) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.ServeWeb(lis) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; err != serving.ErrServerClosed {
			t.Errorf("ServeWeb returned %v, want ErrServerClosed", err)
		}
	})
	return "http://" + lis.Addr().String()
}

func httpDo(t *testing.T, method, url, token, contentType, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxT(t), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// TestRESTInferAnswersAsGRPC sends the same requests over KServe v2 REST
// and over gRPC OIP and wants the same answers and the same errors, with
// KServe's HTTP status codes.
func TestRESTInferAnswersAsGRPC(t *testing.T) {
	s := servingtest.StartReady(t, echo, modelstore.NewStatic("echo", t.TempDir()))
	base := startHTTP(t, s)
	c := inferencepb.NewGRPCInferenceServiceClient(s.Conn)

	tensor := func(name, dt string, shape []int64, c *inferencepb.InferTensorContents) *inferencepb.ModelInferRequest_InferInputTensor {
		return &inferencepb.ModelInferRequest_InferInputTensor{Name: name, Datatype: dt, Shape: shape, Contents: c}
	}
	for _, tt := range []struct {
		name       string
		path       string // after /v2/models/
		body       string
		grpc       *inferencepb.ModelInferRequest
		wantStatus int
	}{
		{"ints", "echo/infer", `{"id":"a1","inputs":[{"name":"x","shape":[2,2],"datatype":"INT64","data":[[1,2],[3,4]]}]}`,
			&inferencepb.ModelInferRequest{ModelName: "echo", Id: "a1", Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{tensor("x", "INT64", []int64{2, 2}, &inferencepb.InferTensorContents{Int64Contents: []int64{1, 2, 3, 4}})}}, 200},
		{"floats", "echo/versions/1/infer", `{"inputs":[{"name":"x","shape":[3],"datatype":"FP64","data":[0.5,1,-2.25]}]}`,
			&inferencepb.ModelInferRequest{ModelName: "echo", ModelVersion: "1", Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{tensor("x", "FP64", []int64{3}, &inferencepb.InferTensorContents{Fp64Contents: []float64{0.5, 1, -2.25}})}}, 200},
		{"text", "echo/infer", `{"inputs":[{"name":"x","shape":[1],"datatype":"BYTES","data":["héllo"]}]}`,
			&inferencepb.ModelInferRequest{ModelName: "echo", Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{tensor("x", "BYTES", []int64{1}, &inferencepb.InferTensorContents{BytesContents: [][]byte{[]byte("héllo")}})}}, 200},
		{"shape mismatch", "echo/infer", `{"inputs":[{"name":"x","shape":[3],"datatype":"INT32","data":[1,2]}]}`,
			&inferencepb.ModelInferRequest{ModelName: "echo", Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{tensor("x", "INT32", []int64{3}, &inferencepb.InferTensorContents{IntContents: []int32{1, 2}})}}, 400},
		{"unsupported datatype", "echo/infer", `{"inputs":[{"name":"x","shape":[1],"datatype":"FP16","data":[1]}]}`,
			&inferencepb.ModelInferRequest{ModelName: "echo", Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{tensor("x", "FP16", []int64{1}, nil)}}, 400},
		{"no input", "echo/infer", `{"inputs":[]}`,
			&inferencepb.ModelInferRequest{ModelName: "echo"}, 400},
		{"unknown model", "nope/infer", `{"inputs":[{"name":"x","shape":[1],"datatype":"INT64","data":[1]}]}`,
			&inferencepb.ModelInferRequest{ModelName: "nope", Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{tensor("x", "INT64", []int64{1}, &inferencepb.InferTensorContents{Int64Contents: []int64{1}})}}, 404},
		{"bad version", "echo/versions/one/infer", `{"inputs":[{"name":"x","shape":[1],"datatype":"INT64","data":[1]}]}`,
			&inferencepb.ModelInferRequest{ModelName: "echo", ModelVersion: "one", Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{tensor("x", "INT64", []int64{1}, &inferencepb.InferTensorContents{Int64Contents: []int64{1}})}}, 400},
		{"version not loaded", "echo/versions/7/infer", `{"inputs":[{"name":"x","shape":[1],"datatype":"INT64","data":[1]}]}`,
			&inferencepb.ModelInferRequest{ModelName: "echo", ModelVersion: "7", Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{tensor("x", "INT64", []int64{1}, &inferencepb.InferTensorContents{Int64Contents: []int64{1}})}}, 404},
		{"model error", "echo/infer", `{"parameters":{"fail":"no thanks"},"inputs":[{"name":"x","shape":[1],"datatype":"INT64","data":[1]}]}`,
			&inferencepb.ModelInferRequest{ModelName: "echo", Parameters: map[string]*inferencepb.InferParameter{"fail": {ParameterChoice: &inferencepb.InferParameter_StringParam{StringParam: "no thanks"}}}, Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{tensor("x", "INT64", []int64{1}, &inferencepb.InferTensorContents{Int64Contents: []int64{1}})}}, 400},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, body := httpDo(t, "POST", base+"/v2/models/"+tt.path, "", "application/json", tt.body)
			if code != tt.wantStatus {
				t.Fatalf("HTTP status %d, want %d; body %s", code, tt.wantStatus, body)
			}
			gresp, gerr := c.ModelInfer(ctxT(t), tt.grpc)
			if gerr != nil {
				var got struct{ Error string }
				if err := json.Unmarshal(body, &got); err != nil {
					t.Fatalf("error body %s: %v", body, err)
				}
				st := status.Convert(gerr)
				if got.Error != st.Message() {
					t.Errorf("REST error %q, gRPC error %q (%v)", got.Error, st.Message(), st.Code())
				}
				if code == 200 {
					t.Errorf("REST answered 200, gRPC %v", gerr)
				}
				return
			}
			if code != 200 {
				t.Fatalf("REST %d %s, gRPC answered", code, body)
			}
			var got, want map[string]any
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			// What gRPC answered, in the JSON form, must be exactly what REST answered.
			wantJSON := grpcAsJSON(t, gresp)
			if err := json.Unmarshal(wantJSON, &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("REST answered %s\ngRPC answered %s", body, wantJSON)
			}
			if len(gresp.GetOutputs()) == 0 {
				t.Errorf("gRPC answered no outputs: %v", gresp)
			}
		})
	}

	// The echo model answers its input as the label.
	code, body := httpDo(t, "POST", base+"/v2/models/echo/infer", "", "application/json", `{"inputs":[{"name":"x","shape":[3],"datatype":"INT64","data":[7,8,9]}]}`)
	if code != 200 || !bytes.Contains(body, []byte(`"data":[7,8,9]`)) || !bytes.Contains(body, []byte(`"model_version":"1"`)) {
		t.Errorf("echo over REST = %d %s", code, body)
	}
}

// grpcAsJSON writes a gRPC response in the KServe JSON form, by hand (not
// with the package under test), for the fields the echo model fills.
// rawElements decodes one raw output the way Triton's clients do.
func rawElements(t *testing.T, datatype string, raw []byte) []any {
	t.Helper()
	var data []any
	switch datatype {
	case "INT64":
		for ; len(raw) >= 8; raw = raw[8:] {
			data = append(data, int64(binary.LittleEndian.Uint64(raw)))
		}
	case "FP64":
		for ; len(raw) >= 8; raw = raw[8:] {
			data = append(data, math.Float64frombits(binary.LittleEndian.Uint64(raw)))
		}
	case "BYTES":
		for len(raw) >= 4 {
			n := binary.LittleEndian.Uint32(raw)
			data = append(data, string(raw[4:4+n]))
			raw = raw[4+n:]
		}
	default:
		t.Fatalf("datatype %s not covered by this test", datatype)
	}
	if len(raw) != 0 {
		t.Fatalf("%d bytes left over decoding a raw %s output", len(raw), datatype)
	}
	return data
}

func grpcAsJSON(t *testing.T, r *inferencepb.ModelInferResponse) []byte {
	t.Helper()
	type out struct {
		Name     string  `json:"name"`
		Shape    []int64 `json:"shape"`
		Datatype string  `json:"datatype"`
		Data     []any   `json:"data"`
	}
	m := map[string]any{"model_name": r.GetModelName(), "model_version": r.GetModelVersion()}
	if len(r.GetParameters()) > 0 {
		params := map[string]any{}
		for k, p := range r.GetParameters() {
			switch c := p.GetParameterChoice().(type) {
			case *inferencepb.InferParameter_StringParam:
				params[k] = c.StringParam
			default:
				t.Fatalf("parameter %s: %T not covered by this test", k, c)
			}
		}
		m["parameters"] = params
	}
	if r.GetId() != "" {
		m["id"] = r.GetId()
	}
	var outs []out
	for i, o := range r.GetOutputs() {
		// The server answers as Triton does, in raw_output_contents:
		// little-endian elements, BYTES as 4-byte lengths and bytes.
		if i >= len(r.GetRawOutputContents()) {
			t.Fatalf("output %s has no raw contents", o.GetName())
		}
		data := rawElements(t, o.GetDatatype(), r.GetRawOutputContents()[i])
		if len(o.GetParameters()) > 0 {
			t.Fatalf("output parameters not covered by this test: %v", o)
		}
		outs = append(outs, out{o.GetName(), o.GetShape(), o.GetDatatype(), data})
	}
	m["outputs"] = outs
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRESTHealthAndMetadata(t *testing.T) {
	s := servingtest.StartReady(t, echo, modelstore.NewStatic("echo", t.TempDir()))
	base := startHTTP(t, s)
	for _, tt := range []struct {
		path   string
		status int
		body   string
	}{
		{"/v2/health/live", 200, `{"live":true}`},
		{"/v2/health/ready", 200, `{"ready":true}`},
		{"/v2/models/echo/ready", 200, `{"ready":true}`},
		{"/v2/models/echo/versions/1/ready", 200, `{"ready":true}`},
		{"/v2/models/echo/versions/2/ready", 400, `{"ready":false}`},
		{"/v2/models/nope/ready", 400, `{"ready":false}`},
		{"/v2/models/echo", 200, `{"inputs":[{"name":"input","datatype":"","shape":[-1]}],"name":"echo","outputs":[{"name":"label","datatype":"","shape":[-1]},{"name":"scores","datatype":"FP64","shape":[-1]}],"platform":"swapwire","versions":["1"]}`},
		{"/v2/models/nope", 404, ""},
		{"/v2", 200, `{"extensions":["model_repository","parameters"],"name":"swapwire","version":"` + serving.Version + `"}`},
	} {
		code, body := httpDo(t, "GET", base+tt.path, "", "", "")
		if code != tt.status || (tt.body != "" && strings.TrimSpace(string(body)) != tt.body) {
			t.Errorf("GET %s = %d %s; want %d %s", tt.path, code, body, tt.status, tt.body)
		}
	}
}

// TestHTTPAdminUsesTheGate calls the admin API over HTTP (Connect JSON,
// through vanguard) and wants the gRPC gate's decisions: no token and a
// read token cannot switch, a deploy token can, and a read token lists.
func TestHTTPAdminUsesTheGate(t *testing.T) {
	store, err := modelstore.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	commitVersion(t, store, "echo", "model.txt", "one")
	commitVersion(t, store, "echo", "model.txt", "two")
	s := servingtest.StartReady(t, echo, store, serving.WithIdentities(
		serving.Identity{Name: "reader", Role: serving.RoleRead, Token: "read-token-0123456789"},
		serving.Identity{Name: "deployer", Role: serving.RoleDeploy, Token: "deploy-token-0123456789"},
	))
	base := startHTTP(t, s)
	sw := base + "/api/v1/models/echo:switch"
	body := `{"version":1,"wait":true}`

	if code, b := httpDo(t, "POST", sw, "", "application/json", body); code != 401 || !strings.Contains(string(b), "admin call needs a bearer token") {
		t.Errorf("switch without a token = %d %s", code, b)
	}
	if code, b := httpDo(t, "POST", sw, "read-token-0123456789", "application/json", body); code != 403 || !strings.Contains(string(b), "identity reader has role read") {
		t.Errorf("switch with a read token = %d %s", code, b)
	}
	if code, b := httpDo(t, "POST", sw, "deploy-token-0123456789", "application/json", body); code != 200 {
		t.Errorf("switch with a deploy token = %d %s", code, b)
	}
	resp, err := s.Models.ListModels(ctxT(t), &swapwirev1.ListModelsRequest{Model: "echo"})
	if err != nil || resp.GetModels()[0].GetServingVersion() != 1 || resp.GetModels()[0].GetPinnedVersion() != 1 {
		t.Errorf("after the HTTP switch, gRPC lists %v, %v; want serving and pinned 1", resp, err)
	}
	code, b := httpDo(t, "GET", base+"/api/v1/models?model=echo", "read-token-0123456789", "", "")
	if code != 200 || !strings.Contains(string(b), `"servingVersion":"1"`) || !strings.Contains(string(b), `"pinnedVersion":"1"`) {
		t.Errorf("list with a read token = %d %s", code, b)
	}
	// The Connect protocol reaches every method, through the same gate.
	req, _ := http.NewRequestWithContext(ctxT(t), "POST", base+"/swapwire.v1.ModelService/DeleteVersion", strings.NewReader(`{"model":"echo","version":2}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Connect-Protocol-Version", "1")
	req.Header.Set("Authorization", "Bearer deploy-token-0123456789")
	if r, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode != 403 || !strings.Contains(string(b), `"code":"permission_denied"`) || !strings.Contains(string(b), "needs admin") {
			t.Errorf("Connect DeleteVersion with a deploy token = %d %s", r.StatusCode, b)
		}
	}
	if code, b := httpDo(t, "DELETE", base+"/api/v1/models/echo/versions/2", "deploy-token-0123456789", "", ""); code != 403 || !strings.Contains(string(b), "needs admin") {
		t.Errorf("REST DeleteVersion with a deploy token = %d %s", code, b)
	}
	if code, b := httpDo(t, "POST", base+"/api/v1/models/echo:label", "deploy-token-0123456789", "application/json", `{"label":"canary","version":2}`); code != 200 || !strings.Contains(string(b), `"labels":{"canary":"2"}`) {
		t.Errorf("REST SetLabel with a deploy token = %d %s", code, b)
	}
	if code, b := httpDo(t, "GET", base+"/api/v1/whoami", "read-token-0123456789", "", ""); code != 200 || strings.TrimSpace(string(b)) != `{"name":"reader","role":"read"}` {
		t.Errorf("whoami = %d %s", code, b)
	}
	if code, b := httpDo(t, "GET", base+"/api/v1/status", "", "", ""); code != 401 {
		t.Errorf("status without a token = %d %s", code, b)
	}
	if code, b := httpDo(t, "GET", base+"/api/v1/status", "read-token-0123456789", "", ""); code != 200 || !strings.Contains(string(b), `"state":"serving"`) {
		t.Errorf("status with a read token = %d %s", code, b)
	}
	// A form post from another origin is refused before any handler.
	req, _ = http.NewRequestWithContext(ctxT(t), "POST", sw, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer deploy-token-0123456789")
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != 403 {
		t.Errorf("cross-origin switch = %v, %v; want 403", r, err)
	} else {
		r.Body.Close()
	}
}

// selfSigned makes a certificate (its own CA) for cn, valid for 127.0.0.1.
func selfSigned(t *testing.T, cn string, usage x509.ExtKeyUsage) (tls.Certificate, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{usage},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, cert
}

// TestHTTPSIdentities serves the HTTP listener over TLS: a client
// certificate listed as an identity is that identity, a token is accepted
// without WithPlaintextTokens, and over plain HTTP the same token is
// refused, as over gRPC.
func TestHTTPSIdentities(t *testing.T) {
	serverCert, serverX := selfSigned(t, "server", x509.ExtKeyUsageServerAuth)
	clientCert, clientX := selfSigned(t, "dash-client", x509.ExtKeyUsageClientAuth)
	clients := x509.NewCertPool()
	clients.AddCert(clientX)
	srv, err := serving.New(echo, modelstore.NewStatic("echo", t.TempDir()),
		serving.WithIdentities(
			serving.Identity{Name: "certy", Role: serving.RoleDeploy, Subject: "CN=dash-client"},
			serving.Identity{Name: "tokeny", Role: serving.RoleRead, Token: "tokeny-0123456789abcdef"}),
		serving.WithHTTPTLS(&tls.Config{Certificates: []tls.Certificate{serverCert}, ClientCAs: clients, ClientAuth: tls.VerifyClientCertIfGiven, MinVersion: tls.VersionTLS12}))
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.ServeWeb(lis) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; err != serving.ErrServerClosed {
			t.Errorf("ServeWeb returned %v", err)
		}
	})
	roots := x509.NewCertPool()
	roots.AddCert(serverX)
	get := func(c *http.Client, token string) (int, string) {
		req, _ := http.NewRequestWithContext(ctxT(t), "GET", "https://"+lis.Addr().String()+"/api/v1/whoami", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b))
	}
	withCert := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{clientCert}}}}
	noCert := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	defer withCert.CloseIdleConnections()
	defer noCert.CloseIdleConnections()
	if code, body := get(withCert, ""); code != 200 || body != `{"name":"certy","role":"deploy"}` {
		t.Errorf("whoami with the client certificate = %d %s", code, body)
	}
	if code, body := get(noCert, "tokeny-0123456789abcdef"); code != 200 || body != `{"name":"tokeny","role":"read"}` {
		t.Errorf("whoami with a token over TLS = %d %s", code, body)
	}
	if code, body := get(noCert, ""); code != 401 {
		t.Errorf("whoami with nothing = %d %s", code, body)
	}
	// The admin API, through vanguard and the gRPC gate, sees the certificate too.
	req, _ := http.NewRequestWithContext(ctxT(t), "GET", "https://"+lis.Addr().String()+"/api/v1/models", nil)
	resp, err := withCert.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"name":"echo"`) {
		t.Errorf("list with the client certificate = %d %s", resp.StatusCode, b)
	}
}

// TestHTTPTokensNeedTLS: over plain HTTP a token is refused unless
// WithPlaintextTokens, by the same rule as gRPC.
func TestHTTPTokensNeedTLS(t *testing.T) {
	srv, err := serving.New(echo, modelstore.NewStatic("echo", t.TempDir()),
		serving.WithIdentities(serving.Identity{Name: "tokeny", Role: serving.RoleAdmin, Token: "tokeny-0123456789abcdef"}))
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.ServeWeb(lis) }()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	base := "http://" + lis.Addr().String()
	for _, path := range []string{"/api/v1/whoami", "/api/v1/models"} {
		code, b := httpDo(t, "GET", base+path, "tokeny-0123456789abcdef", "", "")
		if code != 401 || !strings.Contains(string(b), "bearer tokens are refused over a plaintext connection") {
			t.Errorf("GET %s with a token over plain HTTP = %d %s", path, code, b)
		}
	}
}

// connectStream frames messages as a Connect streaming request body.
func connectStream(t *testing.T, msgs ...any) []byte {
	t.Helper()
	var out []byte
	for _, m := range msgs {
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, 0)
		out = binary.BigEndian.AppendUint32(out, uint32(len(b)))
		out = append(out, b...)
	}
	return out
}

// TestHTTPUploadStream uploads a 3 MiB archive in 1 MiB chunks over the
// Connect streaming protocol, as the dashboard does: a read identity is
// refused by the gate, a deploy identity publishes the version, which then
// serves.
func TestHTTPUploadStream(t *testing.T) {
	store, err := modelstore.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	commitVersion(t, store, "echo", "model.txt", "one")
	s := servingtest.StartReady(t, echo, store, serving.WithIdentities(
		serving.Identity{Name: "reader", Role: serving.RoleRead, Token: "read-token-0123456789"},
		serving.Identity{Name: "deployer", Role: serving.RoleDeploy, Token: "deploy-token-0123456789"},
	))
	base := startHTTP(t, s)

	payload := make([]byte, 3<<20)
	rand.Read(payload)
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	if err := tw.WriteHeader(&tar.Header{Name: "weights.bin", Mode: 0o644, Size: int64(len(payload))}); err != nil {
		t.Fatal(err)
	}
	tw.Write(payload)
	tw.Close()
	archive := tarBuf.Bytes()
	sum := sha256.Sum256(archive)
	msgs := []any{map[string]any{"header": map[string]any{"model": "echo", "sha256": hex.EncodeToString(sum[:]), "size": len(archive)}}}
	for off := 0; off < len(archive); off += 1 << 20 {
		msgs = append(msgs, map[string]any{"chunk": archive[off:min(off+1<<20, len(archive))]}) // []byte marshals as base64
	}
	body := connectStream(t, msgs...)

	post := func(token string) (int, []byte) {
		req, _ := http.NewRequestWithContext(ctxT(t), "POST", base+"/swapwire.v1.ModelService/UploadModel", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/connect+json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	if code, b := post("read-token-0123456789"); code != 200 || !bytes.Contains(b, []byte(`"code":"permission_denied"`)) || !bytes.Contains(b, []byte("needs deploy")) {
		t.Errorf("upload with a read token = %d %q", code, b)
	}
	code, b := post("deploy-token-0123456789")
	if code != 200 || len(b) < 5 || b[0] != 0 {
		t.Fatalf("upload with a deploy token = %d %q", code, b)
	}
	n := binary.BigEndian.Uint32(b[1:5])
	var got struct {
		Model, Version, Sha256, Size, Files string
	}
	if err := json.Unmarshal(b[5:5+n], &got); err != nil {
		t.Fatalf("%q: %v", b, err)
	}
	if got.Model != "echo" || got.Version != "2" || got.Sha256 != hex.EncodeToString(sum[:]) || got.Files != "1" {
		t.Errorf("upload answered %+v", got)
	}
	if err := s.WaitServing(ctxT(t), "echo", 2); err != nil {
		t.Fatal(err)
	}
}
