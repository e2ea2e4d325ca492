package serving_test

import (
	"context"
	"fmt"
	"net"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/swapwire/swapwire/modelstore"
	"github.com/swapwire/swapwire/predict"
	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
	"github.com/swapwire/swapwire/serving"
)

// Serve a model written as a function from one directory, and call it.
func Example() {
	shout := func() predict.Predictor {
		return predict.PredictorFunc(func(ctx context.Context, in predict.Value, opt predict.Option) (predict.Result, error) {
			return predict.Result{Label: predict.Text(strings.ToUpper(in.Text()) + "!")}, nil
		})
	}
	srv, err := serving.New(shout, modelstore.NewStatic("shout", "testdata"))
	if err != nil {
		fmt.Println(err)
		return
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	go srv.Serve(lis)
	defer srv.Shutdown(context.Background())
	srv.Ready(context.Background()) // the first version is loaded

	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	resp, err := swapwirev1.NewPredictionServiceClient(conn).Predict(context.Background(), &swapwirev1.PredictRequest{
		Input: &swapwirev1.Value{Kind: &swapwirev1.Value_Text{Text: "hot swap"}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s version %d: %s\n", resp.GetModel(), resp.GetVersion(), resp.GetOutput().GetText())
	// Output: shout version 1: HOT SWAP!
}
