package notify_test

// Victim steps for the built-in handler tests.

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func errnoOf(err error) int {
	if e, ok := err.(unix.Errno); ok {
		return int(e)
	}
	return -1
}

// handlerStep runs the steps of handler tests; ok is false for unknown ones.
func handlerStep(f []string) (line string, ok bool, err error) {
	switch f[0] {
	case "lock": // lock: lock the main goroutine to its thread for good, print the thread id
		runtime.LockOSThread()
		return strconv.Itoa(unix.Gettid()), true, nil

	case "tbench": // tbench T N: T threads make N getppid calls each; prints calls per second
		threads, n := int(atou(f[1])), atou(f[2])
		var wg sync.WaitGroup
		start := time.Now()
		for range threads {
			wg.Go(func() {
				runtime.LockOSThread()
				for range n {
					unix.RawSyscall(unix.SYS_GETPPID, 0, 0, 0)
				}
			})
		}
		wg.Wait()
		return fmt.Sprintf("%.0f", float64(uint64(threads)*n)/time.Since(start).Seconds()), true, nil

	case "cd": // cd DIR
		return "cd", true, unix.Chdir(f[1])

	case "openf": // openf PATH FLAGS: openat with those flags (hex), then read; prints content or "err N"
		fd, err := unix.Openat(unix.AT_FDCWD, f[1], int(atou(f[2])), 0o644)
		if err != nil {
			return fmt.Sprintf("err %d", errnoOf(err)), true, nil
		}
		defer unix.Close(fd)
		buf := make([]byte, 100)
		n, _ := unix.Read(fd, buf)
		fdFlags, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		return fmt.Sprintf("%q cloexec=%v", buf[:max(n, 0)], fdFlags&unix.FD_CLOEXEC != 0), true, nil

	case "create": // create PATH TEXT: openat O_CREAT|O_WRONLY|O_TRUNC, write; prints "created" and the mode, or "err N"
		fd, err := unix.Openat(unix.AT_FDCWD, f[1], unix.O_CREAT|unix.O_WRONLY|unix.O_TRUNC|unix.O_CLOEXEC, 0o666)
		if err != nil {
			return fmt.Sprintf("err %d", errnoOf(err)), true, nil
		}
		defer unix.Close(fd)
		if _, err := unix.Write(fd, []byte(f[2])); err != nil {
			return fmt.Sprintf("write err %d", errnoOf(err)), true, nil
		}
		var st unix.Stat_t
		unix.Fstat(fd, &st)
		return fmt.Sprintf("created %o", st.Mode&0o777), true, nil

	case "openat2": // openat2 DIR PATH RESOLVE: openat2 with a dirfd opened on DIR
		dir, err := unix.Open(f[1], unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return "", true, err
		}
		defer unix.Close(dir)
		fd, err := unix.Openat2(dir, f[2], &unix.OpenHow{Flags: unix.O_RDONLY | unix.O_CLOEXEC, Resolve: atou(f[3])})
		if err != nil {
			return fmt.Sprintf("err %d", errnoOf(err)), true, nil
		}
		defer unix.Close(fd)
		buf := make([]byte, 100)
		n, _ := unix.Read(fd, buf)
		return fmt.Sprintf("%q", buf[:max(n, 0)]), true, nil

	case "openas": // openas FSUID PATH: openat read-only with that fsuid/fsgid on this thread
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		id := int(atou(f[1]))
		unix.Setfsgid(id)
		unix.Setfsuid(id)
		fd, err := unix.Openat(unix.AT_FDCWD, f[2], unix.O_RDONLY|unix.O_CLOEXEC, 0)
		unix.Setfsuid(0)
		unix.Setfsgid(0)
		if err != nil {
			return fmt.Sprintf("err %d", errnoOf(err)), true, nil
		}
		defer unix.Close(fd)
		buf := make([]byte, 100)
		n, _ := unix.Read(fd, buf)
		return fmt.Sprintf("%q", buf[:max(n, 0)]), true, nil

	case "stat": // stat PATH: newfstatat; prints "ok" or "err N"
		var st unix.Stat_t
		if err := unix.Fstatat(unix.AT_FDCWD, f[1], &st, 0); err != nil {
			return fmt.Sprintf("err %d", errnoOf(err)), true, nil
		}
		return "ok", true, nil

	case "flip": // flip N A B: N openat calls on a buffer another thread flips between A and B
		return flip(int(atou(f[1])), f[2], f[3]), true, nil

	case "mknod": // mknod PATH {c|b|p} MAJOR MINOR FSUID: mknodat with that fsuid/fsgid on this thread
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		id := int(atou(f[5]))
		unix.Setfsgid(id)
		unix.Setfsuid(id)
		defer unix.Setfsuid(0)
		defer unix.Setfsgid(0)
		mode := uint32(0o666)
		switch f[2] {
		case "c":
			mode |= unix.S_IFCHR
		case "b":
			mode |= unix.S_IFBLK
		case "p":
			mode |= unix.S_IFIFO
		}
		dev := unix.Mkdev(uint32(atou(f[3])), uint32(atou(f[4])))
		if err := unix.Mknodat(unix.AT_FDCWD, f[1], mode, int(dev)); err != nil {
			return fmt.Sprintf("err %d", errnoOf(err)), true, nil
		}
		return "0", true, nil

	case "statdev": // statdev PATH: type, numbers, owner and permissions
		var st unix.Stat_t
		if err := unix.Lstat(f[1], &st); err != nil {
			return fmt.Sprintf("err %d", errnoOf(err)), true, nil
		}
		t := map[uint32]string{unix.S_IFCHR: "c", unix.S_IFBLK: "b", unix.S_IFIFO: "p"}[st.Mode&unix.S_IFMT]
		return fmt.Sprintf("%s %d:%d uid=%d gid=%d perm=%o", t, unix.Major(st.Rdev), unix.Minor(st.Rdev), st.Uid, st.Gid, st.Mode&0o777), true, nil

	case "devwrite": // devwrite PATH: open for writing and write one byte
		fd, err := unix.Open(f[1], unix.O_WRONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Sprintf("open err %d", errnoOf(err)), true, nil
		}
		defer unix.Close(fd)
		n, err := unix.Write(fd, []byte("x"))
		if err != nil {
			return fmt.Sprintf("write err %d", errnoOf(err)), true, nil
		}
		return fmt.Sprintf("wrote %d", n), true, nil

	case "mounttmpfs": // mounttmpfs DIR: a private tmpfs on DIR (in the victim's own mount namespace)
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			return "", true, fmt.Errorf("make mounts private: %w", err)
		}
		return "mounted", true, unix.Mount("tmpfs", f[1], "tmpfs", 0, "mode=0777")
	}
	return "", false, nil
}

// flip opens the path in one buffer n times while another thread rewrites
// it between a and b, and counts what the opened files hold.
func flip(n int, a, b string) string {
	size := max(len(a), len(b)) + 1
	buf, err := unix.Mmap(-1, 0, os.Getpagesize(), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return "mmap " + err.Error()
	}
	defer unix.Munmap(buf)
	ca, cb := make([]byte, size), make([]byte, size)
	copy(ca, a)
	copy(cb, b)
	copy(buf, ca)
	var stop atomic.Bool
	var wg sync.WaitGroup
	flips := 0
	wg.Go(func() {
		runtime.LockOSThread()
		for !stop.Load() {
			copy(buf, cb)
			copy(buf, ca)
			flips++
		}
	})
	counts := map[string]int{}
	content := make([]byte, 64)
	for range n {
		fd, _, e := unix.Syscall6(unix.SYS_OPENAT, uintptr(0xffffff9c), uintptr(unsafe.Pointer(&buf[0])), unix.O_RDONLY|unix.O_CLOEXEC, 0, 0, 0)
		if e != 0 {
			counts[fmt.Sprintf("err%d", int(e))]++
			continue
		}
		k, _ := unix.Read(int(fd), content)
		counts[string(content[:max(k, 0)])]++
		unix.Close(int(fd))
	}
	stop.Store(true)
	wg.Wait()
	return fmt.Sprintf("%v flips>0=%v", counts, flips > 0)
}
