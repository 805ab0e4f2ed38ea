// Package treetest is the conformance suite every tree.Provider package runs
// (OMA-TS-DM_TND-V1_2 §6-§8 semantics as seen through package tree), plus Mem,
// an in-memory provider implementing every optional provider interface
// (Adder, Replacer, Deleter, Executer, Renamer, Transactional, Describer).
// It starts no goroutines.
package treetest
