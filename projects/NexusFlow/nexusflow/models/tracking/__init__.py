from .memory import TrackMemory
from .query_interaction import QueryInteraction
from .runtime_tracker import RuntimeTracker
from .track_state import TrackState

__all__ = ['QueryInteraction', 'RuntimeTracker', 'TrackMemory', 'TrackState']
