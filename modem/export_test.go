package modem

// Wakeups returns how many times the session loop woke up (test hook).
func Wakeups(m *Modem) int64 { return m.wakeups.Load() }
