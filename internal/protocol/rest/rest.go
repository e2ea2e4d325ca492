// Package rest serves the KServe v2 (Open Inference Protocol) REST API by
// calling the gRPC Open Inference Protocol service in process: a JSON
// request becomes the same inference.ModelInferRequest a gRPC client would
// send, so both transports share oipconv's mapping and the service's
// errors, and only the envelope differs.
//
// Status codes follow the KServe v2 REST specification: health endpoints
// answer 200 for true and 400 for false; a failed request answers an HTTP
// error status with a JSON body {"error": "..."}, whose status comes from
// the gRPC code (see [HTTPStatus]).
package rest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/swapwire/swapwire/predict"
	inferencepb "github.com/swapwire/swapwire/proto/inference"
)

// Config carries what the REST API needs beyond the service.
type Config struct {
	// MaxBodyBytes bounds a request body; 0 means 64 MiB.
	MaxBodyBytes int64
	// Timeout bounds each call, like the gRPC server's request timeout; 0
	// means none.
	Timeout time.Duration
}

// Handler returns the KServe v2 REST routes under /v2, answered by svc.
func Handler(svc inferencepb.GRPCInferenceServiceServer, cfg Config) http.Handler {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 64 << 20
	}
	h := &handler{svc: svc, cfg: cfg}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2", h.serverMetadata)
	mux.HandleFunc("GET /v2/health/live", h.live)
	mux.HandleFunc("GET /v2/health/ready", h.ready)
	mux.HandleFunc("GET /v2/models/{name}", h.modelMetadata)
	mux.HandleFunc("GET /v2/models/{name}/versions/{version}", h.modelMetadata)
	mux.HandleFunc("GET /v2/models/{name}/ready", h.modelReady)
	mux.HandleFunc("GET /v2/models/{name}/versions/{version}/ready", h.modelReady)
	mux.HandleFunc("POST /v2/models/{name}/infer", h.infer)
	mux.HandleFunc("POST /v2/models/{name}/versions/{version}/infer", h.infer)
	mux.HandleFunc("POST /v2/repository/index", h.index)
	mux.HandleFunc("/v2/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, predict.Errorf(codes.NotFound, "no KServe v2 endpoint %s %s", r.Method, r.URL.Path))
	})
	return mux
}

type handler struct {
	svc inferencepb.GRPCInferenceServiceServer
	cfg Config
}

func (h *handler) ctx(r *http.Request) (context.Context, context.CancelFunc) {
	if h.cfg.Timeout > 0 {
		return context.WithTimeout(r.Context(), h.cfg.Timeout)
	}
	return context.WithCancel(r.Context())
}

func (h *handler) serverMetadata(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := h.ctx(r)
	defer cancel()
	resp, err := h.svc.ServerMetadata(ctx, &inferencepb.ServerMetadataRequest{})
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": resp.GetName(), "version": resp.GetVersion(), "extensions": nonNil(resp.GetExtensions())})
}

// health answers 200 when ok, else 400, as the KServe v2 spec asks; the
// body says the same in JSON.
func health(w http.ResponseWriter, key string, ok bool) {
	code := http.StatusOK
	if !ok {
		code = http.StatusBadRequest
	}
	writeJSON(w, code, map[string]bool{key: ok})
}

func (h *handler) live(w http.ResponseWriter, r *http.Request) {
	resp, err := h.svc.ServerLive(r.Context(), &inferencepb.ServerLiveRequest{})
	if err != nil {
		writeError(w, err)
		return
	}
	health(w, "live", resp.GetLive())
}

func (h *handler) ready(w http.ResponseWriter, r *http.Request) {
	resp, err := h.svc.ServerReady(r.Context(), &inferencepb.ServerReadyRequest{})
	if err != nil {
		writeError(w, err)
		return
	}
	health(w, "ready", resp.GetReady())
}

func (h *handler) modelReady(w http.ResponseWriter, r *http.Request) {
	resp, err := h.svc.ModelReady(r.Context(), &inferencepb.ModelReadyRequest{Name: r.PathValue("name"), Version: r.PathValue("version")})
	if err != nil {
		writeError(w, err)
		return
	}
	health(w, "ready", resp.GetReady())
}

type tensorMetadataJSON struct {
	Name     string  `json:"name"`
	Datatype string  `json:"datatype"`
	Shape    []int64 `json:"shape"`
}

func tensorMetadata(ts []*inferencepb.ModelMetadataResponse_TensorMetadata) []tensorMetadataJSON {
	out := []tensorMetadataJSON{}
	for _, t := range ts {
		out = append(out, tensorMetadataJSON{Name: t.GetName(), Datatype: t.GetDatatype(), Shape: nonNil(t.GetShape())})
	}
	return out
}

func (h *handler) modelMetadata(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := h.ctx(r)
	defer cancel()
	resp, err := h.svc.ModelMetadata(ctx, &inferencepb.ModelMetadataRequest{Name: r.PathValue("name"), Version: r.PathValue("version")})
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"name":     resp.GetName(),
		"versions": nonNil(resp.GetVersions()),
		"platform": resp.GetPlatform(),
		"inputs":   tensorMetadata(resp.GetInputs()),
		"outputs":  tensorMetadata(resp.GetOutputs()),
	})
}

func (h *handler) infer(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, predict.Errorf(codes.ResourceExhausted, "request body larger than %d bytes", tooBig.Limit))
			return
		}
		writeError(w, predict.InvalidArgument("reading the request body: %v", err))
		return
	}
	req, err := DecodeRequest(body, r.PathValue("name"), r.PathValue("version"))
	if err != nil {
		writeError(w, err)
		return
	}
	ctx, cancel := h.ctx(r)
	defer cancel()
	resp, err := h.svc.ModelInfer(ctx, req)
	if err != nil {
		writeError(w, err)
		return
	}
	out, err := EncodeResponse(resp)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *handler) index(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Ready bool `json:"ready"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&in); err != nil && !errors.Is(err, io.EOF) {
		writeError(w, predict.InvalidArgument("request body: %v", err))
		return
	}
	resp, err := h.svc.RepositoryIndex(r.Context(), &inferencepb.RepositoryIndexRequest{Ready: in.Ready})
	if err != nil {
		writeError(w, err)
		return
	}
	type entry struct {
		Name    string `json:"name"`
		Version string `json:"version,omitempty"`
		State   string `json:"state"`
		Reason  string `json:"reason,omitempty"`
	}
	out := []entry{}
	for _, m := range resp.GetModels() {
		out = append(out, entry{m.GetName(), m.GetVersion(), m.GetState(), m.GetReason()})
	}
	writeJSON(w, http.StatusOK, out)
}

// HTTPStatus maps a gRPC code to the HTTP status the REST API answers:
// the KServe spec's 400 for a bad request, and the usual correspondence
// (as in google.rpc.Code's documentation) for the rest.
func HTTPStatus(c codes.Code) int {
	switch c {
	case codes.OK:
		return http.StatusOK
	case codes.InvalidArgument, codes.FailedPrecondition, codes.OutOfRange:
		return http.StatusBadRequest
	case codes.Unauthenticated:
		return http.StatusUnauthorized
	case codes.PermissionDenied:
		return http.StatusForbidden
	case codes.NotFound:
		return http.StatusNotFound
	case codes.AlreadyExists, codes.Aborted:
		return http.StatusConflict
	case codes.ResourceExhausted:
		return http.StatusTooManyRequests
	case codes.Canceled:
		return 499
	case codes.Unimplemented:
		return http.StatusNotImplemented
	case codes.Unavailable:
		return http.StatusServiceUnavailable
	case codes.DeadlineExceeded:
		return http.StatusGatewayTimeout
	}
	return http.StatusInternalServerError
}

// writeError answers {"error": message} with the status of the error's
// gRPC code, the message being the gRPC status message verbatim.
func writeError(w http.ResponseWriter, err error) {
	st := status.Convert(predict.Status(err))
	writeJSON(w, HTTPStatus(st.Code()), map[string]string{"error": st.Message()})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code = http.StatusInternalServerError
		b, _ = json.Marshal(map[string]string{"error": "encoding the response: " + err.Error()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
