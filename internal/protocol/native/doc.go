// Package native serves Swapwire's own protocol, swapwire.v1: the
// PredictionService (Predict, PredictStream, ServiceInfo) and the admin
// ModelService, over the engine. It converts wire types to engine calls and
// back, and nothing else: who may call the admin methods is decided by the
// serving package's gate before a call reaches this package.
package native
