from .bev_track_map import BEVTrackMap

__all__ = ['BEVTrackMap']
