package serving

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"connectrpc.com/vanguard"
	"connectrpc.com/vanguard/vanguardgrpc"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/swapwire/swapwire/internal/dashboard"
	"github.com/swapwire/swapwire/internal/protocol/oip"
	"github.com/swapwire/swapwire/internal/protocol/rest"
	inferencepb "github.com/swapwire/swapwire/proto/inference"
	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
)

// WithHTTPAddr makes [Run] also serve the HTTP listener of
// [Server.HTTPHandler] on addr: KServe v2 REST inference, the JSON admin
// API, /metrics and the dashboard.
func WithHTTPAddr(addr string) ServerOption {
	return optionFunc(func(c *config) { c.httpAddr = addr })
}

// WithHTTPTLS makes [Server.ServeWeb] (and so the listener of
// [WithHTTPAddr]) serve HTTPS with cfg, which must hold the server's
// certificate. With ClientCAs set, a verified client certificate is an
// identity as it is over gRPC; bearer tokens are accepted without
// [WithPlaintextTokens].
func WithHTTPTLS(cfg *tls.Config) ServerOption {
	return optionFunc(func(c *config) { c.httpTLS = cfg })
}

// HTTPHandler serves, over HTTP/1.1 or HTTP/2:
//
//   - /v2/...: KServe v2 REST inference, answered by the same Open
//     Inference Protocol service as gRPC (same mapping, same errors);
//   - /swapwire.v1.ModelService/<Method> and
//     /swapwire.v1.PredictionService/<Method>: the gRPC services over the
//     Connect protocol (JSON bodies; client streams such as UploadModel
//     as Connect streaming requests), transcoded by connectrpc.com/vanguard
//     into the server's own gRPC server, so every admin call passes the
//     same gate, identities and interceptors as over gRPC;
//   - /api/v1/whoami and /api/v1/status: the caller's identity, and the
//     models with their worker pools (RoleRead, decided by the same gate
//     as ListModels);
//   - /metrics: the server's Prometheus metrics;
//   - /: the dashboard, embedded in the binary.
//
// Writes from another origin are refused (http.CrossOriginProtection);
// credentials travel only as an Authorization header or a client
// certificate, never a cookie.
func (s *Server) HTTPHandler() (http.Handler, error) {
	tc, err := vanguardgrpc.NewTranscoder(s.grpc, vanguard.WithRules(adminRules()...))
	if err != nil {
		return nil, err
	}
	var svc inferencepb.GRPCInferenceServiceServer
	oip.Register(captureRegistrar(func(impl any) {
		svc, _ = impl.(inferencepb.GRPCInferenceServiceServer)
	}), s.eng, oip.Config{SwapwireVersion: Version, Live: s.live})
	if svc == nil {
		return nil, errors.New("serving: the OIP service did not register")
	}
	mux := http.NewServeMux()
	v2 := rest.Handler(svc, rest.Config{MaxBodyBytes: int64(s.cfg.maxMsgSize), Timeout: s.cfg.requestTimeout})
	mux.Handle("/v2/", v2)
	mux.Handle("/v2", v2)
	mux.Handle("/"+swapwirev1.ModelService_ServiceDesc.ServiceName+"/", tc)
	mux.Handle("/"+swapwirev1.PredictionService_ServiceDesc.ServiceName+"/", tc)
	mux.Handle("/api/v1/models", tc)
	mux.Handle("/api/v1/models/", tc)
	mux.HandleFunc("GET /api/v1/whoami", s.whoami)
	mux.HandleFunc("GET /api/v1/status", s.statusJSON)
	mux.Handle("GET /metrics", s.MetricsHandler())
	mux.Handle("/", dashboard.Handler())
	return http.NewCrossOriginProtection().Handler(mux), nil
}

// adminRules give the unary ModelService methods REST routes, so that
// curl needs no Connect header:
//
//	GET    /api/v1/models[?model=M]                ListModels
//	POST   /api/v1/models/{model}:switch           SwitchModel   {"version": 2, "wait": true}
//	POST   /api/v1/models/{model}:label            SetLabel      {"label": "canary", "version": 2}
//	POST   /api/v1/models/{model}:split            SplitTraffic  {"weights": [{"version": 2, "weight": 90}, ...]}
//	POST   /api/v1/models/{model}:rollback         Rollback
//	DELETE /api/v1/models/{model}/versions/{version} DeleteVersion
//
// UploadModel and EvaluateModel, being client streams, are served over
// the Connect streaming protocol only.
func adminRules() []*annotations.HttpRule {
	svc := swapwirev1.ModelService_ServiceDesc.ServiceName + "."
	post := func(method, path string) *annotations.HttpRule {
		return &annotations.HttpRule{Selector: svc + method, Pattern: &annotations.HttpRule_Post{Post: path}, Body: "*"}
	}
	return []*annotations.HttpRule{
		{Selector: svc + "ListModels", Pattern: &annotations.HttpRule_Get{Get: "/api/v1/models"}},
		post("SwitchModel", "/api/v1/models/{model}:switch"),
		post("SetLabel", "/api/v1/models/{model}:label"),
		post("SplitTraffic", "/api/v1/models/{model}:split"),
		post("Rollback", "/api/v1/models/{model}:rollback"),
		{Selector: svc + "DeleteVersion", Pattern: &annotations.HttpRule_Delete{Delete: "/api/v1/models/{model}/versions/{version}"}},
	}
}

// ServeWeb serves [Server.HTTPHandler] on lis until Shutdown or Close.
func (s *Server) ServeWeb(lis net.Listener) error {
	h, err := s.HTTPHandler()
	if err != nil {
		lis.Close()
		return err
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	if s.cfg.httpTLS != nil {
		hs.TLSConfig = s.cfg.httpTLS.Clone()
	}
	if !s.trackHTTP(hs, lis) {
		return ErrServerClosed
	}
	s.warnExposure(lis.Addr())
	if hs.TLSConfig != nil {
		err = hs.ServeTLS(lis, "", "")
	} else {
		err = hs.Serve(lis)
	}
	return httpServeErr(err)
}

// captureRegistrar hands the implementation a protocol package registers
// to a function, so that HTTP front-ends call the very service gRPC serves.
type captureRegistrar func(impl any)

func (c captureRegistrar) RegisterService(_ *grpc.ServiceDesc, impl any) { c(impl) }

// httpContext gives an HTTP request the context a gRPC call over the same
// connection would have: its peer (address and TLS state) and its
// Authorization header as metadata, which is what the gate reads.
func httpContext(r *http.Request) context.Context {
	p := &peer.Peer{Addr: strAddr(r.RemoteAddr)}
	if r.TLS != nil {
		p.AuthInfo = credentials.TLSInfo{State: *r.TLS, CommonAuthInfo: credentials.CommonAuthInfo{SecurityLevel: credentials.PrivacyAndIntegrity}}
	}
	if ap, err := net.ResolveTCPAddr("tcp", r.RemoteAddr); err == nil {
		p.Addr = ap
	}
	ctx := peer.NewContext(r.Context(), p)
	if auth := r.Header.Values("Authorization"); len(auth) > 0 {
		ctx = metadata.NewIncomingContext(ctx, metadata.MD{"authorization": auth})
	}
	return ctx
}

type strAddr string

func (a strAddr) Network() string { return "tcp" }
func (a strAddr) String() string  { return string(a) }

// whoami answers the caller's identity name and role, as the gate decides
// it for a read call; an anonymous caller gets 401 with the gate's reason.
func (s *Server) whoami(w http.ResponseWriter, r *http.Request) {
	ctx := httpContext(r)
	who, err := s.identify(ctx)
	if err != nil {
		writeHTTPError(w, err)
		return
	}
	writeHTTPJSON(w, map[string]string{"name": who.Name, "role": who.Role.String()})
}

// statusJSON is the dashboard's view of every model: versions with their
// state, full error, load time and worker pool. It needs the role of
// ListModels, through the same gate.
func (s *Server) statusJSON(w http.ResponseWriter, r *http.Request) {
	if _, err := s.authorize(httpContext(r), swapwirev1.ModelService_ListModels_FullMethodName); err != nil {
		writeHTTPError(w, err)
		return
	}
	type workerJSON struct {
		ID       int    `json:"id"`
		PID      int    `json:"pid"`
		State    string `json:"state"`
		Since    string `json:"since,omitempty"`
		Restarts int    `json:"restarts"`
		Runtime  string `json:"runtime,omitempty"`
		Error    string `json:"error,omitempty"`
	}
	type versionJSON struct {
		Version     int64        `json:"version"`
		State       string       `json:"state"`
		Error       string       `json:"error,omitempty"`
		LoadSeconds float64      `json:"load_seconds"`
		LoadedAt    string       `json:"loaded_at,omitempty"`
		InFlight    int64        `json:"in_flight"`
		Batching    bool         `json:"batching"`
		Workers     []workerJSON `json:"workers"`
	}
	type modelJSON struct {
		Name       string           `json:"name"`
		Default    bool             `json:"default"`
		Serving    int64            `json:"serving"`
		Pinned     int64            `json:"pinned"`
		Labels     map[string]int64 `json:"labels"`
		Weights    map[int64]int    `json:"weights"`
		Split      map[int64]int    `json:"split"`
		Health     string           `json:"health,omitempty"`
		StoreError string           `json:"store_error,omitempty"`
		Versions   []versionJSON    `json:"versions"`
	}
	out := []modelJSON{}
	for _, m := range s.eng.Models() {
		mj := modelJSON{Name: m.Name, Default: m.Default, Serving: m.Serving, Pinned: m.Pinned, Labels: m.Labels, Weights: m.Weights, Split: m.Split, Health: errText(m.Health), StoreError: errText(m.StoreErr), Versions: []versionJSON{}}
		for _, v := range m.Versions {
			vj := versionJSON{Version: v.Version, State: v.State.String(), Error: errText(v.Err), LoadSeconds: v.LoadDuration.Seconds(), LoadedAt: timeText(v.LoadedAt), InFlight: v.InFlight, Batching: v.Batching, Workers: []workerJSON{}}
			for _, wk := range v.Workers {
				vj.Workers = append(vj.Workers, workerJSON{ID: wk.ID, PID: wk.PID, State: wk.State.String(), Since: timeText(wk.Since), Restarts: wk.Restarts, Runtime: wk.Runtime, Error: errText(wk.Err)})
			}
			mj.Versions = append(mj.Versions, vj)
		}
		out = append(out, mj)
	}
	writeHTTPJSON(w, out)
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func writeHTTPJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(v)
}

func writeHTTPError(w http.ResponseWriter, err error) {
	st := status.Convert(err)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(rest.HTTPStatus(st.Code()))
	json.NewEncoder(w).Encode(map[string]string{"code": strings.ToLower(st.Code().String()), "error": st.Message()})
}
