// A deterministic program for comparing sysgate trace with strace: each
// thread and process opens its own marker paths, so their sequences can
// be matched across runs whatever the scheduling.
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void work(const char *tag) {
	char path[64];
	struct stat st;
	snprintf(path, sizeof path, "/nonexistent/%s", tag);
	open(path, O_RDONLY);
	int fd = open("/dev/null", O_WRONLY);
	write(fd, tag, 3);
	fstat(fd, &st);
	stat("/", &st);
	close(fd);
	close(1000);
}

static void *thread(void *arg) { work("thr"); return NULL; }

int main(void) {
	work("par");
	pthread_t t;
	pthread_create(&t, NULL, thread, NULL);
	pthread_join(t, NULL);
	pid_t pid = fork();
	if (pid == 0) {
		work("chi");
		pid_t v = vfork();
		if (v == 0) {
			execl("/bin/true", "true", (char *)NULL);
			_exit(127);
		}
		waitpid(v, NULL, 0);
		_exit(3);
	}
	int status;
	waitpid(pid, &status, 0);
	return WEXITSTATUS(status) + 4;
}
