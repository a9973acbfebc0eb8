package memstore

// SetShareMinVersions sets the smallest base run a compaction shares the
// arena of (tests use 1 so that their small runs take the shared path) and
// returns a function that restores it.
func SetShareMinVersions(n int) (restore func()) {
	old := shareMinVersions
	shareMinVersions = n
	return func() { shareMinVersions = old }
}

// ArenaShared says whether run b reads its arena chunks from a's memory
// (the first chunk of each is the same bytes).
func ArenaShared(a, b *Run) bool {
	return len(a.arena) > 0 && len(b.arena) > 0 && &a.arena[0][0] == &b.arena[0][0]
}

// CommonPrefix is the key prefix the run's record prefixes are taken after.
func CommonPrefix(r *Run) []byte { return r.cp }
