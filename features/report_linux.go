package features

// Report probes every feature this package knows and lists them, seccomp
// actions first, then filter flags, the listener features, and the rest.
// Listener features stay unknown until [ProbeListener] has run.
func Report() []Feature {
	var out []Feature
	for _, a := range actions {
		out = append(out, actionProbe(a.ret).feature())
	}
	for _, f := range flags {
		out = append(out, flagProbe(f).feature())
	}
	for _, p := range []*probe{
		userNotifProbe, addFDProbe, addFDSendProbe, syncWakeUpProbe,
		ptraceInfoProbe, sudProbe, msealProbe,
	} {
		out = append(out, p.feature())
	}
	return out
}
