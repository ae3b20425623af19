"""Rasterized ground appearance of a city: map classes painted in city colours."""
import cv2
import numpy as np
from scipy.ndimage import gaussian_filter
from shapely.ops import substring

from .roads import RoadNetwork
from .styles import GROUND_CLASSES, CityStyle, tint_rgb

# cv2 drawing keeps this many fractional bits of each vertex.
_SHIFT_BITS = 3


class GroundTexture:
    """Class raster and colour palette of a city's ground.

    Args:
        network (RoadNetwork): the city's map geometry.
        style (CityStyle): colours and texture parameters.
        resolution (float): raster cell size in metres.
        rng (np.random.Generator): source of the texture noise.
        lane_marking_width (float): painted width of lane dividers in metres.
        road_marking_width (float): painted width of road dividers in metres.
        dash_length (float): length of a dash and of a gap of dashed lane dividers, metres.
        noise_tile (int): side in cells of the periodic noise tile.
    """

    def __init__(self, network: RoadNetwork, style: CityStyle, resolution: float,
                 rng: np.random.Generator, lane_marking_width: float = 0.3,
                 road_marking_width: float = 0.5, dash_length: float = 3.0,
                 noise_tile: int = 512):
        self.resolution = resolution
        size = int(np.ceil(network.canvas_size / resolution))
        self.classes = np.zeros((size, size), np.uint8)
        ids = {name: i for i, name in enumerate(GROUND_CLASSES)}

        self._fill(network.walkways, ids['walkway'])
        self._fill(getattr(network.drivable, 'geoms', [network.drivable]), ids['road'])
        self._fill(network.ped_crossings, ids['ped_crossing'])
        lane_lines = network.lane_dividers
        if style.dashed_lane_dividers:
            lane_lines = [_dash(line, dash_length) for line in lane_lines]
            lane_lines = [piece for pieces in lane_lines for piece in pieces]
        self._stroke(lane_lines, ids['lane_divider'], lane_marking_width)
        self._stroke(network.road_dividers, ids['road_divider'], road_marking_width)

        self.palette = np.stack([tint_rgb(style.ground[name], style.tint)
                                 for name in GROUND_CLASSES]).astype(np.float32)
        noise = rng.standard_normal((noise_tile, noise_tile)).astype(np.float32)
        sigma = max(style.texture_scale_m / resolution, 0.5)
        # Wrapped blur keeps the tile periodic, so repeating it leaves no seams.
        noise = gaussian_filter(noise, sigma, mode='wrap')
        noise /= max(float(noise.std()), 1e-6)
        self.noise = 1.0 + style.texture_gain * noise

    def _to_pixels(self, coords) -> np.ndarray:
        scaled = np.asarray(coords, np.float64) / self.resolution * (1 << _SHIFT_BITS)
        return np.round(scaled).astype(np.int32)

    def _fill(self, polygons, value: int):
        for polygon in polygons:
            # cv2 leaves the holes (city blocks inside the drivable area) unpainted.
            rings = [self._to_pixels(polygon.exterior.coords)]
            rings += [self._to_pixels(ring.coords) for ring in polygon.interiors]
            cv2.fillPoly(self.classes, rings, int(value), shift=_SHIFT_BITS)

    def _stroke(self, lines, value: int, width: float):
        thickness = max(1, int(round(width / self.resolution)))
        curves = [self._to_pixels(line.coords) for line in lines]
        cv2.polylines(self.classes, curves, False, int(value), thickness=thickness,
                      shift=_SHIFT_BITS)

    def lookup(self, xy: np.ndarray) -> np.ndarray:
        """Return RGB colours (..., 3) float32 of global ground points ``xy`` (..., 2)."""
        col = np.floor(xy[..., 0] / self.resolution).astype(np.int64)
        row = np.floor(xy[..., 1] / self.resolution).astype(np.int64)
        size = self.classes.shape[0]
        inside = (col >= 0) & (col < size) & (row >= 0) & (row < size)
        classes = np.zeros(col.shape, np.uint8)
        classes[inside] = self.classes[row[inside], col[inside]]
        tile = self.noise.shape[0]
        gain = self.noise[row % tile, col % tile]
        return self.palette[classes] * gain[..., None]


def _dash(line, dash_length: float) -> list:
    pieces = []
    start = 0.0
    while start < line.length:
        pieces.append(substring(line, start, min(start + dash_length, line.length)))
        start += 2 * dash_length
    return [p for p in pieces if p.length > 0.1]
