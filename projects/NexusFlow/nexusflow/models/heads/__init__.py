from .map_head import MapHead
from .track_head import TrackHead

__all__ = ['MapHead', 'TrackHead']
