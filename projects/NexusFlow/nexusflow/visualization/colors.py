"""Colours shared by the BEV and camera drawings (RGB, 0..255)."""
import colorsys
from typing import Dict, Sequence, Tuple

Color = Tuple[int, int, int]

MAP_CLASS_COLORS: Dict[str, Color] = {
    'divider': (255, 140, 0),
    'ped_crossing': (30, 110, 255),
    'contour': (200, 30, 60),
    'drivable': (150, 150, 150),
}
# Classes outside MAP_CLASS_COLORS take these in turn.
EXTRA_MAP_COLORS: Sequence[Color] = ((0, 160, 90), (150, 60, 200), (90, 200, 220))

UNTRACKED_COLOR: Color = (110, 110, 110)
BACKGROUND_COLOR: Color = (250, 250, 250)
EGO_COLOR: Color = (0, 0, 0)
TEXT_COLOR: Color = (20, 20, 20)

_GOLDEN_RATIO_CONJUGATE = 0.618033988749895


def track_color(track_id: int) -> Color:
    """Return the colour of a track id, the same in every frame and panel.

    Consecutive ids get hues that are far apart because the hue steps by the
    golden ratio conjugate. Negative ids (no identity) are grey.

    Args:
        track_id (int): Track id.

    Returns:
        tuple[int, int, int]: RGB colour.
    """
    track_id = int(track_id)
    if track_id < 0:
        return UNTRACKED_COLOR
    hue = (track_id * _GOLDEN_RATIO_CONJUGATE) % 1.0
    # Alternate the brightness as well, so ids with nearby hues still differ.
    value = 0.95 if track_id % 2 == 0 else 0.75
    red, green, blue = colorsys.hsv_to_rgb(hue, 0.9, value)
    return (int(round(red * 255)), int(round(green * 255)), int(round(blue * 255)))


def map_class_colors(class_names: Sequence[str]) -> Dict[str, Color]:
    """Return a colour for each map class name.

    Args:
        class_names (Sequence[str]): Map classes in raster channel order.

    Returns:
        dict[str, tuple[int, int, int]]: RGB colour per class.
    """
    colors = {}
    extra_index = 0
    for name in class_names:
        if name in MAP_CLASS_COLORS:
            colors[name] = MAP_CLASS_COLORS[name]
        else:
            colors[name] = EXTRA_MAP_COLORS[extra_index % len(EXTRA_MAP_COLORS)]
            extra_index += 1
    return colors
