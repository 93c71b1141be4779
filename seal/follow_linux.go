package seal

import (
	"github.com/sysgate/sysgate/ptrace"
)

// FollowOptions are the ptrace options (sandbox.Config.PtraceOptions)
// [Follow] needs besides exec events: see [ptrace.FollowOptions].
const FollowOptions = ptrace.FollowOptions

// Follow resumes the target pid, stopped (and sealed) at its exec, and
// seals again at every later exec of it or of a thread or process it
// creates, calling onSeal with each result; when onSeal returns an error
// that process is killed (fail closed). It returns once pid has exited,
// without reaping it (its parent's wait, e.g. sandbox.Process.Wait, does),
// after detaching every other tracee, which runs on unsealed at its next
// exec. See [ptrace.Follow] for what it needs of the caller.
func Follow(pid int, onSeal func(Report, error) error) error {
	return ptrace.Follow(pid, ptrace.Hooks{Exec: func(tid int) error {
		r, err := SealSystemMappings(tid)
		if onSeal != nil {
			return onSeal(r, err)
		}
		return nil
	}})
}
