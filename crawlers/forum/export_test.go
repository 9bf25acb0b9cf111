package forum

// SetFollowBatch lowers how many view pages one poll reads.
func SetFollowBatch(s *Source, n int) { s.followBatch = n }
