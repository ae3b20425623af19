from .encoder import BEVEncoder
from .spatial_cross_attention import SpatialCrossAttention
from .temporal_self_attention import TemporalSelfAttention

__all__ = ['BEVEncoder', 'SpatialCrossAttention', 'TemporalSelfAttention']
