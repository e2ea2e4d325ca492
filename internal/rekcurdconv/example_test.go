package rekcurdconv_test

import (
	"fmt"

	"github.com/swapwire/swapwire/internal/rekcurdconv"
	"github.com/swapwire/swapwire/predict"
)

func ExampleParseOption() {
	opt, err := rekcurdconv.ParseOption(`{"top_k": 3, "filters": {"lang": ["en", "ja"]}}`)
	fmt.Println(opt["top_k"], opt["filters"], err)

	_, err = rekcurdconv.ParseOption(`{"user_id": 9007199254740993}`)
	fmt.Println(predict.CodeOf(err))
	// Output:
	// 3 map[lang:[en ja]] <nil>
	// InvalidArgument
}

func ExampleParseMethod() {
	in, out, ok := rekcurdconv.ParseMethod("/rekcurd.RekcurdWorker/Predict_Bytes_ArrFloat")
	fmt.Println(in, out, ok, in.Kind(), rekcurdconv.MethodName(in, out))
	// Output: Bytes ArrFloat true bytes Predict_Bytes_ArrFloat
}
