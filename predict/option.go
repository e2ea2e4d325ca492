package predict

// Option is a JSON-like map of any depth passed with a request and returned
// with a result. Values are nil, bool, float64, string, []any or
// map[string]any, as encoding/json decodes them and as
// google.protobuf.Struct carries them on the wire.
type Option map[string]any
