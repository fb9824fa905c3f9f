"""Story grouping: near-exact copies → `duplicate_of`, write-ups of one event → `story_id`."""

from stories.grouper import GroupingSettings, GroupInput, Placement, StoryGrouper
from stories.state import ArticleRecord, GroupingState, InMemoryState, StoryRecord

__all__ = [
    "ArticleRecord",
    "GroupInput",
    "GroupingSettings",
    "GroupingState",
    "InMemoryState",
    "Placement",
    "StoryGrouper",
    "StoryRecord",
]
