package main

import (
	"os"
	"runtime/pprof"
)

func startProf() func() {
	p := os.Getenv("ZZ_CPUPROFILE")
	if p == "" {
		return func() {}
	}
	f, _ := os.Create(p)
	pprof.StartCPUProfile(f)
	return func() { pprof.StopCPUProfile(); f.Close() }
}
