// A non-leader thread execs: the tracer sees the exec event on the
// leader's pid with the thread's id as the former tid.
#include <pthread.h>
#include <unistd.h>

static void *thread(void *arg) {
	execl("/bin/sh", "sh", "-c", "exit 5", (char *)NULL);
	return NULL;
}

int main(void) {
	pthread_t t;
	pthread_create(&t, NULL, thread, NULL);
	pause();
	return 1;
}
