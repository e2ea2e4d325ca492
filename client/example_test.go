package client_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/grpc/status"

	"github.com/swapwire/swapwire/client"
	"github.com/swapwire/swapwire/modelstore"
	"github.com/swapwire/swapwire/predict"
	"github.com/swapwire/swapwire/serving"
)

// greeter answers "<greeting> <input>", its greeting read from the
// version's greeting.txt.
type greeter struct{ greeting string }

func (g *greeter) Load(_ context.Context, dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, "greeting.txt"))
	g.greeting = strings.TrimSpace(string(b))
	return err
}

func (g *greeter) Predict(_ context.Context, in predict.Value, _ predict.Option) (predict.Result, error) {
	return predict.Result{Label: predict.Text(g.greeting + " " + in.Text()), Scores: []float64{float64(len(in.Text()))}}, nil
}

// exampleServer serves a store whose model "greeter" has version 1
// ("hello") on 127.0.0.1, with one admin identity whose token it writes
// into a file. It returns the address, the token file and a stop function.
func exampleServer() (addr, tokenFile string, stop func()) {
	root, _ := os.MkdirTemp("", "swapwire-example-")
	v1 := filepath.Join(root, "v1")
	os.MkdirAll(v1, 0o755)
	os.MkdirAll(filepath.Join(root, "store"), 0o755)
	os.WriteFile(filepath.Join(v1, "greeting.txt"), []byte("hello"), 0o644)
	store, err := modelstore.NewLocal(filepath.Join(root, "store"))
	if err != nil {
		panic(err)
	}
	if _, err := modelstore.PublishDir(context.Background(), store, "greeter", 1, v1); err != nil {
		panic(err)
	}
	tokenFile = filepath.Join(root, "token")
	os.WriteFile(tokenFile, []byte("example-token\n"), 0o600)
	srv, err := serving.New(func() predict.Predictor { return &greeter{} }, store,
		serving.WithIdentities(serving.Identity{Name: "example", Role: serving.RoleAdmin, Token: "example-token"}),
		serving.WithPlaintextTokens(true))
	if err != nil {
		panic(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go srv.Serve(lis)
	srv.Ready(context.Background())
	return lis.Addr().String(), tokenFile, func() {
		srv.Shutdown(context.Background())
		os.RemoveAll(root)
	}
}

// Send one prediction.
func ExampleClient_Predict() {
	addr, _, stop := exampleServer()
	defer stop()

	c, err := client.Dial(addr)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	ans, err := c.Predict(context.Background(), client.Request{Model: "greeter", Input: predict.Text("world")})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s version %d: %s %v\n", ans.Model, ans.Version, ans.Label.Text(), ans.Scores)
	// Output: greeter version 1: hello world [5]
}

// Send many predictions over one stream; answers come back in order.
func ExampleClient_PredictStream() {
	addr, _, stop := exampleServer()
	defer stop()

	c, err := client.Dial(addr)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := c.PredictStream(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	for i, name := range []string{"ada", "grace"} {
		s.Send(fmt.Sprint(i), client.Request{Model: "greeter", Input: predict.Text(name)})
	}
	s.Send("bad", client.Request{Model: "nosuch", Input: predict.Text("x")})
	s.CloseSend()
	for {
		r, err := s.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		if r.Err != nil {
			fmt.Printf("%s: %v\n", r.ID, status.Code(r.Err))
			continue
		}
		fmt.Printf("%s: %s\n", r.ID, r.Label.Text())
	}
	// Output:
	// 0: hello ada
	// 1: hello grace
	// bad: NotFound
}

// Upload a new version, wait until it serves, then list the model. The
// admin token comes from a file, never from a command line.
func ExampleClient_Upload() {
	addr, tokenFile, stop := exampleServer()
	defer stop()

	c, err := client.Dial(addr, client.WithTokenFile(tokenFile))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	dir, _ := os.MkdirTemp("", "greeter-v2-")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "greeting.txt"), []byte("bonjour"), 0o644)
	up, err := c.Upload(ctx, "greeter", 0, dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("uploaded %s version %d (%d file)\n", up.Model, up.Version, up.Files)

	// Pin the new version and wait until it serves.
	if _, err := c.Switch(ctx, "greeter", up.Version, true); err != nil {
		fmt.Println(err)
		return
	}
	ans, err := c.Predict(ctx, client.Request{Model: "greeter", Input: predict.Text("monde")})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ans.Label.Text())

	// Roll back to the version that served before.
	from, to, err := c.Rollback(ctx, "greeter")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("rolled back from %d to %d\n", from, to)
	m, err := c.WaitModel(ctx, "greeter", func(m client.ModelStatus) (bool, error) { return m.ServingVersion == to, nil })
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, v := range m.Versions {
		fmt.Printf("version %d: %s\n", v.Version, v.State)
	}
	// Output:
	// uploaded greeter version 2 (1 file)
	// bonjour monde
	// rolled back from 2 to 1
	// version 1: serving
	// version 2: available
}
