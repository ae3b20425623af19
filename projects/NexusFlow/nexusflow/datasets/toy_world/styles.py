"""Object classes and per-city appearance of the toy nuScenes world.

Colours are RGB in [0, 255]. Every city multiplies all colours (ground, markings and
objects) by its light tint, so the same class looks different across cities: that is
the domain gap the partially supervised setting needs.
"""
from dataclasses import dataclass, field
from typing import Dict, Tuple

import numpy as np

CAMERAS = ('CAM_FRONT', 'CAM_FRONT_RIGHT', 'CAM_FRONT_LEFT', 'CAM_BACK',
           'CAM_BACK_LEFT', 'CAM_BACK_RIGHT')
LIDAR = 'LIDAR_TOP'
CITIES = ('boston-seaport', 'singapore-onenorth', 'singapore-hollandvillage',
          'singapore-queenstown')

# Ground raster classes, painted in this order so later classes cover earlier ones.
GROUND_CLASSES = ('terrain', 'walkway', 'road', 'ped_crossing', 'lane_divider',
                  'road_divider')


@dataclass(frozen=True)
class ObjectClass:
    """One kind of agent.

    Attributes:
        category (str): nuScenes category name, e.g. ``'vehicle.car'``.
        size (tuple): mean ``(width, length, height)`` in metres.
        speed (tuple): ``(min, max)`` speed in m/s; ``(0, 0)`` for static objects.
        moving_attribute (str): attribute name while moving, '' for none.
        still_attribute (str): attribute name while standing still, '' for none.
        colour (tuple): base RGB colour before the city tint.
    """
    category: str
    size: Tuple[float, float, float]
    speed: Tuple[float, float]
    moving_attribute: str
    still_attribute: str
    colour: Tuple[int, int, int]


# Sizes are close to the nuScenes class means. Colours differ in hue so that the
# chromaticity of a pixel identifies the class under any city tint.
OBJECT_CLASSES: Dict[str, ObjectClass] = {
    'car': ObjectClass('vehicle.car', (1.95, 4.6, 1.75), (4.0, 10.0),
                       'vehicle.moving', 'vehicle.parked', (220, 40, 40)),
    'truck': ObjectClass('vehicle.truck', (2.5, 7.0, 2.9), (3.0, 8.0),
                         'vehicle.moving', 'vehicle.parked', (240, 150, 20)),
    'bus': ObjectClass('vehicle.bus.rigid', (2.9, 11.0, 3.4), (3.0, 7.0),
                       'vehicle.moving', 'vehicle.stopped', (230, 230, 40)),
    'pedestrian': ObjectClass('human.pedestrian.adult', (0.7, 0.75, 1.75), (0.8, 1.6),
                              'pedestrian.moving', 'pedestrian.standing', (200, 40, 220)),
    'bicycle': ObjectClass('vehicle.bicycle', (0.65, 1.75, 1.3), (2.5, 5.0),
                           'cycle.with_rider', 'cycle.without_rider', (30, 210, 220)),
    'motorcycle': ObjectClass('vehicle.motorcycle', (0.8, 2.1, 1.5), (5.0, 11.0),
                              'cycle.with_rider', 'cycle.without_rider', (40, 90, 240)),
    'barrier': ObjectClass('movable_object.barrier', (2.4, 0.5, 1.0), (0.0, 0.0),
                           '', '', (245, 245, 245)),
    'traffic_cone': ObjectClass('movable_object.trafficcone', (0.45, 0.45, 1.0),
                                (0.0, 0.0), '', '', (140, 240, 40)),
}

ATTRIBUTES = ('vehicle.moving', 'vehicle.stopped', 'vehicle.parked', 'cycle.with_rider',
              'cycle.without_rider', 'pedestrian.moving', 'pedestrian.standing',
              'pedestrian.sitting_lying_down')


@dataclass(frozen=True)
class CityStyle:
    """Appearance and road layout of one city.

    Attributes:
        layout (str): ``'grid'`` (straight perpendicular roads) or ``'rings'``
            (curved ring roads crossed by oblique radial roads).
        left_hand_traffic (bool): whether vehicles drive on the left.
        ground (dict): ground class -> base RGB.
        sky_top (tuple), sky_horizon (tuple): RGB of the sky gradient.
        haze (tuple): RGB that distant ground fades to.
        visibility_m (float): distance in metres at which the haze reaches 63 %.
        tint (tuple): per-channel light gain applied to every colour.
        texture_gain (float): relative amplitude of the ground texture noise.
        texture_scale_m (float): correlation length of the texture noise in metres.
        light_dir (tuple): unit vector towards the light, ego-independent world frame.
        dashed_lane_dividers (bool): whether lane dividers are painted as dashes.
    """
    layout: str
    left_hand_traffic: bool
    ground: Dict[str, Tuple[int, int, int]]
    sky_top: Tuple[int, int, int]
    sky_horizon: Tuple[int, int, int]
    haze: Tuple[int, int, int]
    visibility_m: float
    tint: Tuple[float, float, float]
    texture_gain: float
    texture_scale_m: float
    light_dir: Tuple[float, float, float] = field(default=(0.3, 0.2, 0.93))
    dashed_lane_dividers: bool = True

    def object_rgb(self, class_name: str) -> np.ndarray:
        """Return the tinted, unshaded RGB of an object class, float (3,)."""
        return tint_rgb(OBJECT_CLASSES[class_name].colour, self.tint)


def tint_rgb(rgb, tint) -> np.ndarray:
    """Multiply an RGB colour by a light tint, clipped to [0, 255]."""
    return np.clip(np.asarray(rgb, np.float64) * np.asarray(tint, np.float64), 0, 255)


_BOSTON = CityStyle(
    layout='grid', left_hand_traffic=False,
    ground=dict(terrain=(96, 120, 70), walkway=(175, 170, 160), road=(72, 72, 78),
                ped_crossing=(235, 235, 235), lane_divider=(250, 250, 250),
                road_divider=(250, 200, 30)),
    sky_top=(90, 140, 220), sky_horizon=(200, 215, 235), haze=(190, 200, 215),
    visibility_m=220.0, tint=(1.08, 1.0, 0.9), texture_gain=0.12, texture_scale_m=0.6,
    light_dir=(0.45, 0.25, 0.86), dashed_lane_dividers=True)

_ONENORTH = CityStyle(
    layout='rings', left_hand_traffic=True,
    ground=dict(terrain=(50, 100, 60), walkway=(150, 95, 85), road=(110, 112, 104),
                ped_crossing=(215, 220, 120), lane_divider=(225, 225, 225),
                road_divider=(235, 235, 235)),
    sky_top=(150, 160, 165), sky_horizon=(205, 205, 200), haze=(170, 175, 170),
    visibility_m=110.0, tint=(0.82, 0.92, 0.98), texture_gain=0.25, texture_scale_m=2.5,
    light_dir=(-0.2, 0.5, 0.84), dashed_lane_dividers=False)

_HOLLANDVILLAGE = CityStyle(
    layout='rings', left_hand_traffic=True,
    ground=dict(terrain=(120, 105, 70), walkway=(190, 190, 180), road=(55, 55, 58),
                ped_crossing=(240, 240, 240), lane_divider=(240, 240, 240),
                road_divider=(240, 240, 240)),
    sky_top=(60, 90, 170), sky_horizon=(230, 200, 170), haze=(220, 190, 160),
    visibility_m=150.0, tint=(1.05, 0.9, 0.78), texture_gain=0.18, texture_scale_m=1.2,
    light_dir=(0.7, -0.2, 0.68), dashed_lane_dividers=True)

_QUEENSTOWN = CityStyle(
    layout='grid', left_hand_traffic=True,
    ground=dict(terrain=(70, 80, 75), walkway=(120, 125, 135), road=(88, 84, 92),
                ped_crossing=(225, 225, 235), lane_divider=(230, 230, 230),
                road_divider=(230, 230, 230)),
    sky_top=(35, 45, 80), sky_horizon=(100, 100, 130), haze=(80, 85, 110),
    visibility_m=90.0, tint=(0.7, 0.72, 0.85), texture_gain=0.2, texture_scale_m=0.9,
    light_dir=(0.1, 0.1, 0.99), dashed_lane_dividers=False)

CITY_STYLES: Dict[str, CityStyle] = {
    'boston-seaport': _BOSTON,
    'singapore-onenorth': _ONENORTH,
    'singapore-hollandvillage': _HOLLANDVILLAGE,
    'singapore-queenstown': _QUEENSTOWN,
}
