"""Generator of a small synthetic world written in the nuScenes on-disk format."""
from .styles import CAMERAS, CITIES, CITY_STYLES, OBJECT_CLASSES
from .writer import generate_toy_nuscenes, split_names

__all__ = ['CAMERAS', 'CITIES', 'CITY_STYLES', 'OBJECT_CLASSES', 'generate_toy_nuscenes',
           'split_names']
