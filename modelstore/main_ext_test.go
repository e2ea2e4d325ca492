package modelstore_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/swapwire/swapwire/modelstore"
	"github.com/swapwire/swapwire/modelstore/storetest"
)

func TestMain(m *testing.M) {
	if code, ok := storetest.RunChild(func() (modelstore.Store, error) {
		return modelstore.NewLocal(os.Getenv("SWAPWIRE_TEST_LOCAL_ROOT"), modelstore.WithFSNotify(false), modelstore.WithPollInterval(0))
	}); ok {
		os.Exit(code)
	}
	goleak.VerifyTestMain(m)
}
