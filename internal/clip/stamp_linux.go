package clip

import (
	"fmt"
	"os"
	"syscall"
)

// changeStamp is a file's inode and change time (ctime), which change on
// every write and cannot be set back.
func changeStamp(fi os.FileInfo) string {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	return fmt.Sprintf("%d|%d.%09d", st.Ino, st.Ctim.Sec, st.Ctim.Nsec)
}
