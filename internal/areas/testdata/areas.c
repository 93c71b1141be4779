// areas: issues raw syscalls from chosen kinds of code, for sysgate's
// memory-area tests and benchmark. Built by internal/areas with gcc.
//
//   areas [-r N] ORIGIN...     for each ORIGIN, N times: getppid(2) from
//                              it, one line each: "ORIGIN ok" or
//                              "ORIGIN ERRNAME"
//   areas bench N              sysinfo(2) N times from the program's own
//                              text; prints "ns/op X"
//   areas sud [-r N] ORIGIN... like the first form under Syscall User
//                              Dispatch allowing only the program's text;
//                              lines end with " dispatched" when SIGSYS
//                              came (the handler emulates the call)
//   areas bench-sud N          bench under Syscall User Dispatch
//   areas -t [-r N] ORIGIN...  like the first form with a SIGSYS handler
//                              that fails the trapped call with ENOSYS;
//                              such lines end with " sigsys=CODE" (the
//                              si_code: 1 seccomp, 2 user dispatch)
//
// An ORIGIN may be prefixed with "thread:" (the call is made by a new
// thread) or "fork:" (by a forked child, which prints the line); the
// ORIGIN "exec" executes /proc/self/exe ("exec:PATH": PATH) with the same
// -t and the ORIGINs that follow it.
//
// ORIGIN: libc (libc's syscall(3)), exe (inline asm in this program),
// anon (a page mapped RW, written, made RX now: a new page each call),
// lib:PATH (a shared library dlopened at first use, after start-up; it
// exports areas_getppid).
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef PR_SET_SYSCALL_USER_DISPATCH
#define PR_SET_SYSCALL_USER_DISPATCH 59
#endif
#define SUD_ON 1
#define SUD_ALLOW 0
#define SUD_BLOCK 1

static long raw6(long nr, long a, long b, long c, long d, long e, long f) {
	long ret;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

static long exe_getppid(void) { return raw6(SYS_getppid, 0, 0, 0, 0, 0, 0); }

static long libc_getppid(void) {
	long r = syscall(SYS_getppid);
	return r < 0 ? -errno : r;
}

// mov eax, 110 (getppid); syscall; ret
static const unsigned char anon_code[] = {0xb8, 110, 0, 0, 0, 0x0f, 0x05, 0xc3};

static long anon_getppid(void) {
	long pg = sysconf(_SC_PAGESIZE);
	unsigned char *p = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		exit(2);
	}
	memcpy(p, anon_code, sizeof anon_code);
	if (mprotect(p, pg, PROT_READ | PROT_EXEC) != 0) {
		perror("mprotect");
		exit(2);
	}
	long r = ((long (*)(void))p)();
	munmap(p, pg);
	return r;
}

static long lib_getppid(const char *path) {
	static void *h;
	static long (*fn)(void);
	if (!h) {
		h = dlopen(path, RTLD_NOW);
		if (!h) {
			fprintf(stderr, "dlopen: %s\n", dlerror());
			exit(2);
		}
		fn = (long (*)(void))dlsym(h, "areas_getppid");
		if (!fn) {
			fprintf(stderr, "dlsym: %s\n", dlerror());
			exit(2);
		}
	}
	return fn();
}

static volatile long dispatched;
static volatile char selector = SUD_ALLOW;

// The SIGSYS handler for Syscall User Dispatch: it runs in this program's
// text (the allowed range), so it can issue the call itself.
static void on_sigsys(int sig, siginfo_t *si, void *uc_) {
	(void)sig;
	(void)si;
	ucontext_t *uc = uc_;
	greg_t *g = uc->uc_mcontext.gregs;
	dispatched++;
	g[REG_RAX] = raw6(g[REG_RAX], g[REG_RDI], g[REG_RSI], g[REG_RDX], g[REG_R10], g[REG_R8], g[REG_R9]);
}

// rt_sigreturn from this program's text: libc's restorer lies outside the
// allowed range and would be dispatched itself.
extern void areas_restorer(void);
__asm__(".text\n.globl areas_restorer\nareas_restorer:\n\tmov $15, %eax\n\tsyscall\n");

struct ksigaction {
	void (*handler)(int, siginfo_t *, void *);
	unsigned long flags;
	void (*restorer)(void);
	unsigned long mask;
};

extern char __executable_start[], etext[];

// on_sigsys_with installs handler for SIGSYS with a raw rt_sigaction from
// this program's text and its own restorer.
static void on_sigsys_with(void (*handler)(int, siginfo_t *, void *)) {
	struct ksigaction sa = {handler, SA_SIGINFO | 0x04000000 /* SA_RESTORER */, areas_restorer, 0};
	long r = raw6(SYS_rt_sigaction, SIGSYS, (long)&sa, 0, 8, 0, 0);
	if (r != 0) {
		fprintf(stderr, "rt_sigaction: %s\n", strerror(-r));
		exit(2);
	}
}

static void sud_on(void) {
	on_sigsys_with(on_sigsys);
	unsigned long off = (unsigned long)__executable_start, len = (unsigned long)etext - off;
	if (prctl(PR_SET_SYSCALL_USER_DISPATCH, SUD_ON, off, len, &selector) != 0) {
		perror("prctl(PR_SET_SYSCALL_USER_DISPATCH)");
		exit(3);
	}
	selector = SUD_BLOCK;
}

static volatile long trapped, trap_code;

// The SIGSYS handler of -t: the call is not made, as a compatibility
// layer that does not emulate it would have it.
static void on_trap(int sig, siginfo_t *si, void *uc_) {
	(void)sig;
	ucontext_t *uc = uc_;
	trapped++;
	trap_code = si->si_code;
	uc->uc_mcontext.gregs[REG_RAX] = -ENOSYS;
}


static long call_origin(const char *o);

static void *thread_main(void *arg) { return (void *)call_origin(arg); }

// call_origin makes the call from origin o and returns its result.
static long call_origin(const char *o) {
	if (strncmp(o, "thread:", 7) == 0) {
		pthread_t t;
		void *r;
		if (pthread_create(&t, NULL, thread_main, (void *)(o + 7)) != 0) {
			fprintf(stderr, "pthread_create failed\n");
			exit(2);
		}
		pthread_join(t, &r);
		return (long)r;
	}
	if (strcmp(o, "libc") == 0)
		return libc_getppid();
	if (strcmp(o, "exe") == 0)
		return exe_getppid();
	if (strcmp(o, "anon") == 0)
		return anon_getppid();
	if (strncmp(o, "lib:", 4) == 0)
		return lib_getppid(o + 4);
	fprintf(stderr, "unknown origin %s\n", o);
	exit(2);
}

static void print_result(const char *o, long r, long before, long trapped_before) {
	char tail[64] = "";
	if (dispatched != before)
		strcpy(tail, " dispatched");
	if (trapped != trapped_before)
		snprintf(tail, sizeof tail, " sigsys=%ld", trap_code);
	if (r < 0)
		printf("%s %s%s\n", o, strerrorname_np(-r), tail);
	else
		printf("%s ok%s\n", o, tail);
}

static double now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int bench(long n) {
	struct sysinfo si;
	for (long i = 0; i < n / 10 + 1; i++) // warm up
		raw6(SYS_sysinfo, (long)&si, 0, 0, 0, 0, 0);
	double t0 = now();
	for (long i = 0; i < n; i++) {
		long r = raw6(SYS_sysinfo, (long)&si, 0, 0, 0, 0, 0);
		if (r != 0) {
			fprintf(stderr, "sysinfo: %s\n", strerror(-r));
			return 1;
		}
	}
	double t = now() - t0;
	selector = SUD_ALLOW;
	printf("ns/op %.2f dispatched %ld\n", t / n, dispatched);
	return 0;
}

int main(int argc, char **argv) {
	setvbuf(stdout, NULL, _IOLBF, 0);
	int i = 1, sud = 0, trap = 0;
	long reps = 1;
	if (argc > 2 && strcmp(argv[1], "bench") == 0)
		return bench(atol(argv[2]));
	if (argc > 2 && strcmp(argv[1], "bench-sud") == 0) {
		sud_on();
		return bench(atol(argv[2]));
	}
	if (i < argc && strcmp(argv[i], "sud") == 0) {
		sud = 1;
		i++;
	}
	if (i < argc && strcmp(argv[i], "-t") == 0) {
		trap = 1;
		i++;
	}
	if (i + 1 < argc && strcmp(argv[i], "-r") == 0) {
		reps = atol(argv[i + 1]);
		i += 2;
	}
	if (i >= argc) {
		fprintf(stderr, "usage: areas [sud] [-t] [-r N] {[thread:|fork:]{libc|exe|anon|lib:PATH}|exec}...\n       areas {bench|bench-sud} N\n");
		return 2;
	}
	if (sud)
		sud_on();
	if (trap)
		on_sigsys_with(on_trap);
	for (; i < argc; i++) {
		const char *o = argv[i];
		if (strcmp(o, "exec") == 0 || strncmp(o, "exec:", 5) == 0) {
			const char *path = o[4] == ':' ? o + 5 : "/proc/self/exe";
			char **av = calloc(argc + 2, sizeof *av);
			int n = 0;
			av[n++] = argv[0];
			if (trap)
				av[n++] = "-t";
			for (int j = i + 1; j < argc; j++)
				av[n++] = argv[j];
			execv(path, av);
			perror("execv");
			return 2;
		}
		for (long k = 0; k < reps; k++) {
			long before = dispatched, trapped_before = trapped, r;
			if (strncmp(o, "fork:", 5) == 0) {
				pid_t c = fork();
				if (c < 0) {
					perror("fork");
					return 2;
				}
				if (c == 0) {
					print_result(o, call_origin(o + 5), before, trapped_before);
					fflush(stdout);
					_exit(0);
				}
				waitpid(c, NULL, 0);
				continue;
			}
			r = call_origin(o);
			print_result(o, r, before, trapped_before);
		}
	}
	return 0;
}
