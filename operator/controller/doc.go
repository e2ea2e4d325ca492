// Package controller is the ModelService reconciler: it keeps a
// Deployment, Services, a ConfigMap, an HPA, a PDB and a ServiceMonitor in
// line with each ModelService, and writes the models' serving policies
// into the model store, which every replica follows without a restart.
//
// It imports the model store's types and nothing of the serving engine.
package controller
