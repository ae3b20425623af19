from .match_cost import EncodedBox3DL1Cost

__all__ = ['EncodedBox3DL1Cost']
