package ort

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const void *(*GetApi)(uint32_t version);
  const char *(*GetVersionString)(void);
} convisOrtApiBase;

// convis_ort_version copies the library's version string into buf; the
// library is opened on its own handle and closed again.
static int convis_ort_version(const char *path, char *buf, size_t n) {
  void *h = dlopen(path, RTLD_LAZY | RTLD_LOCAL);
  if (!h) return -1;
  const convisOrtApiBase *(*get)(void) = (const convisOrtApiBase *(*)(void))dlsym(h, "OrtGetApiBase");
  int rc = -2;
  if (get) {
    const convisOrtApiBase *base = get();
    if (base && base->GetVersionString) {
      strncpy(buf, base->GetVersionString(), n - 1);
      buf[n - 1] = 0;
      rc = 0;
    }
  }
  dlclose(h);
  return rc;
}
*/
import "C"

import "unsafe"

// libraryVersion reads the version string of an ONNX Runtime library
// without initialising it ("" when it cannot be read).
func libraryVersion(path string) string {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var buf [64]C.char
	if C.convis_ort_version(cpath, &buf[0], C.size_t(len(buf))) != 0 {
		return ""
	}
	return C.GoString(&buf[0])
}
