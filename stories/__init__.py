"""Story grouping: near-exact copies → `duplicate_of`, write-ups of one event → `story_id`."""
