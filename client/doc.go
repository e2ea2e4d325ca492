// Package client is the Go client of a Swapwire server: predictions (one at
// a time or over a stream) and the model administration calls (list,
// upload, switch, label, split, rollback, delete, evaluate), typed with the
// values of package predict. The swapwire command line is built on it.
//
// Dial connects; options choose TLS and the admin bearer token. A token is
// read from a file or the environment, never taken from a command line:
//
//	c, err := client.Dial("127.0.0.1:50051", client.WithTokenFromEnv())
//	...
//	defer c.Close()
//	ans, err := c.Predict(ctx, client.Request{Model: "digits", Input: predict.Ints(pixels...)})
//
// Errors are gRPC status errors; read their code with status.Code.
package client
