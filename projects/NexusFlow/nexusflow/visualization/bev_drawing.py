"""Draw a bird's-eye-view panel: map masks, oriented boxes and track histories.

The panel is an RGB uint8 image of the BEV grid in the LiDAR frame of the
keyframe. Image columns run along +x (left to right) and image rows along -y
(top row = ``y_max``), so +y points up in the picture. With the nuScenes
LIDAR_TOP frame (x right, y forward) the ego vehicle drives up the picture.
"""
from dataclasses import dataclass
from typing import Dict, Mapping, Optional, Sequence

import cv2
import numpy as np

from .colors import (BACKGROUND_COLOR, EGO_COLOR, TEXT_COLOR, Color,
                     map_class_colors, track_color)

DEFAULT_MAP_CLASSES = ('divider', 'ped_crossing', 'contour', 'drivable')

# cv2 draws with fixed-point coordinates, 2**_SHIFT sub-pixel steps per pixel.
_SHIFT = 4
_SUBPIXEL = 1 << _SHIFT


@dataclass(frozen=True)
class BEVGrid:
    """The BEV raster grid and its placement in a panel image.

    Raster cell ``[i, j]`` covers ``x = x_min + (j + 0.5) * dx`` and
    ``y = y_min + (i + 0.5) * dy`` with ``dx = (x_max - x_min) / bev_w`` and
    ``dy = (y_max - y_min) / bev_h``. In the panel each cell is a square of
    ``cell_px`` pixels, and row ``i`` is drawn at image row
    ``bev_h - 1 - i`` so that +y points up.

    Attributes:
        point_cloud_range (tuple[float, ...]): ``(x_min, y_min, z_min,
            x_max, y_max, z_max)`` in metres.
        bev_h (int): Raster rows (along y).
        bev_w (int): Raster columns (along x).
        cell_px (int): Panel pixels per raster cell side.
    """
    point_cloud_range: tuple
    bev_h: int
    bev_w: int
    cell_px: int = 1

    @classmethod
    def from_config(cls,
                    point_cloud_range: Sequence[float],
                    bev_h: int,
                    bev_w: int,
                    panel_size: int = 480) -> 'BEVGrid':
        """Build a grid whose panel's longer side is close to ``panel_size``.

        Args:
            point_cloud_range (Sequence[float]): ``[x_min, y_min, z_min,
                x_max, y_max, z_max]`` in metres.
            bev_h (int): Raster rows.
            bev_w (int): Raster columns.
            panel_size (int): Wanted length of the panel's longer side in
                pixels. Each cell gets a whole number of pixels, at least 1.
                Defaults to 480.

        Returns:
            BEVGrid: The grid.
        """
        pc_range = tuple(float(v) for v in point_cloud_range)
        if len(pc_range) != 6:
            raise ValueError(
                f'point_cloud_range must have 6 values (x_min, y_min, z_min, '
                f'x_max, y_max, z_max), got {list(point_cloud_range)}.')
        if pc_range[3] <= pc_range[0] or pc_range[4] <= pc_range[1]:
            raise ValueError(
                f'point_cloud_range must have x_max > x_min and y_max > '
                f'y_min, got {list(point_cloud_range)}.')
        if int(bev_h) <= 0 or int(bev_w) <= 0:
            raise ValueError(
                f'bev_h and bev_w must be positive, got {bev_h} x {bev_w}.')
        cell_px = max(1, int(round(panel_size / max(bev_h, bev_w))))
        return cls(pc_range, int(bev_h), int(bev_w), cell_px)

    @property
    def image_shape(self) -> tuple:
        """Panel image size ``(height, width)`` in pixels."""
        return (self.bev_h * self.cell_px, self.bev_w * self.cell_px)

    @property
    def pixels_per_metre(self) -> tuple:
        """Pixels per metre ``(along x, along y)``."""
        x_min, y_min, _, x_max, y_max, _ = self.point_cloud_range
        return (self.bev_w * self.cell_px / (x_max - x_min),
                self.bev_h * self.cell_px / (y_max - y_min))

    def to_pixels(self, xy: np.ndarray) -> np.ndarray:
        """Map LiDAR-frame points to panel pixel coordinates.

        Args:
            xy (np.ndarray): Points (..., 2), x and y in metres.

        Returns:
            np.ndarray: Float pixel coordinates (..., 2) as ``(u, v)`` =
            (column, row); pixel ``(u, v)`` covers ``[u, u + 1) x [v, v + 1)``.
        """
        xy = np.asarray(xy, dtype=np.float64)
        x_min, _, _, _, y_max, _ = self.point_cloud_range
        scale_x, scale_y = self.pixels_per_metre
        u = (xy[..., 0] - x_min) * scale_x
        v = (y_max - xy[..., 1]) * scale_y
        return np.stack([u, v], axis=-1)

    def cell_center_pixel(self, i: int, j: int) -> tuple:
        """Return the integer panel pixel ``(row, column)`` at the centre of cell ``[i, j]``."""
        row = (self.bev_h - 1 - i) * self.cell_px + self.cell_px // 2
        col = j * self.cell_px + self.cell_px // 2
        return row, col


def _fixed_point(pixels: np.ndarray) -> np.ndarray:
    # Large values overflow cv2's int coordinates, and nothing beyond a few
    # panel sizes is visible anyway.
    clipped = np.clip(pixels, -1e5, 1e5)
    return np.round(clipped * _SUBPIXEL).astype(np.int32)


def _draw_oriented_box(canvas: np.ndarray, grid: 'BEVGrid', box: np.ndarray,
                       color: Color, thickness: int) -> np.ndarray:
    """Draw one (4, 2) box outline and its heading tick; return its pixels."""
    pixels = grid.to_pixels(box)
    cv2.polylines(canvas, [_fixed_point(pixels)], True, color, thickness,
                  cv2.LINE_AA, _SHIFT)
    center = pixels.mean(axis=0)
    front = pixels[2:4].mean(axis=0)
    # The tick runs from the centre past the front edge, so the heading
    # stays visible on boxes only a few pixels long.
    tip = front + 0.5 * (front - center)
    cv2.line(canvas, tuple(_fixed_point(center)), tuple(_fixed_point(tip)),
             color, thickness, cv2.LINE_AA, _SHIFT)
    return pixels


def new_canvas(grid: BEVGrid, color: Color = BACKGROUND_COLOR) -> np.ndarray:
    """Return a blank panel (H_px, W_px, 3) uint8 filled with ``color``."""
    height, width = grid.image_shape
    canvas = np.empty((height, width, 3), dtype=np.uint8)
    canvas[:] = color
    return canvas


def draw_map_masks(canvas: np.ndarray,
                   grid: BEVGrid,
                   masks: np.ndarray,
                   class_names: Sequence[str] = DEFAULT_MAP_CLASSES,
                   alpha: float = 0.6,
                   colors: Optional[Mapping[str, Color]] = None) -> np.ndarray:
    """Alpha-blend the map masks onto the panel, one colour per class.

    Classes are blended in reverse channel order, so with the default order
    the filled ``drivable`` area lies at the bottom and ``divider`` on top.
    A pixel covered by class c becomes ``(1 - alpha) * below + alpha *
    color[c]``.

    Args:
        canvas (np.ndarray): Panel (H_px, W_px, 3) uint8, changed in place.
        grid (BEVGrid): Grid of the masks and the panel.
        masks (np.ndarray): Masks (C, bev_h, bev_w), bool or 0/1, in the
            order of ``class_names``.
        class_names (Sequence[str]): Map class of each channel.
            Defaults to ``('divider', 'ped_crossing', 'contour', 'drivable')``.
        alpha (float): Opacity of the class colours, in [0, 1].
            Defaults to 0.6.
        colors (Mapping[str, tuple], optional): RGB colour per class.
            Defaults to :func:`map_class_colors`.

    Returns:
        np.ndarray: ``canvas``.
    """
    masks = np.asarray(masks)
    if masks.ndim != 3 or masks.shape[1:] != (grid.bev_h, grid.bev_w):
        raise ValueError(
            f'map masks must have shape (C, {grid.bev_h}, {grid.bev_w}) to '
            f'match bev_h x bev_w, got {masks.shape}.')
    if masks.shape[0] != len(class_names):
        raise ValueError(
            f'map masks have {masks.shape[0]} channels but {len(class_names)} '
            f'class names were given: {list(class_names)}.')
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f'alpha must be in [0, 1], got {alpha}.')
    colors = dict(colors) if colors else map_class_colors(class_names)

    for index in reversed(range(len(class_names))):
        mask = masks[index].astype(bool)[::-1]
        if grid.cell_px > 1:
            mask = np.repeat(np.repeat(mask, grid.cell_px, 0), grid.cell_px, 1)
        if not mask.any():
            continue
        color = np.asarray(colors[class_names[index]], dtype=np.float32)
        blended = (1.0 - alpha) * canvas[mask].astype(np.float32) + alpha * color
        canvas[mask] = np.round(blended).astype(np.uint8)
    return canvas


def box_bev_corners(corners: np.ndarray) -> np.ndarray:
    """Return the bottom-face corners of 3D boxes, in drawing order.

    Args:
        corners (np.ndarray): ``LiDARInstance3DBoxes.corners``, (N, 8, 3).

    Returns:
        np.ndarray: (N, 4, 2) x, y in metres. Corners 2 and 3 span the front
        face, the one the yaw points to.
    """
    # mmdet3d orders the 8 corners (x0y0z0, x0y0z1, x0y1z1, x0y1z0, x1y0z0,
    # x1y0z1, x1y1z1, x1y1z0) in the box frame, x1 being the front.
    return np.asarray(corners)[:, [0, 3, 7, 4], :2]


def draw_boxes(canvas: np.ndarray,
               grid: BEVGrid,
               bev_corners: np.ndarray,
               track_ids: Optional[Sequence[int]] = None,
               thickness: int = 2,
               label_ids: bool = False) -> np.ndarray:
    """Draw boxes as oriented rectangles with a tick toward the heading.

    Args:
        canvas (np.ndarray): Panel (H_px, W_px, 3) uint8, changed in place.
        grid (BEVGrid): Grid of the panel.
        bev_corners (np.ndarray): (N, 4, 2) from :func:`box_bev_corners`,
            metres in the LiDAR frame.
        track_ids (Sequence[int], optional): Track id per box, which picks
            its colour. None or -1 draws grey.
        thickness (int): Line width in pixels. Defaults to 2.
        label_ids (bool): Whether to write the track id beside each box.
            Defaults to False.

    Returns:
        np.ndarray: ``canvas``.
    """
    bev_corners = np.asarray(bev_corners, dtype=np.float64).reshape(-1, 4, 2)
    num_boxes = len(bev_corners)
    if track_ids is None:
        track_ids = [-1] * num_boxes
    track_ids = [int(t) for t in np.asarray(track_ids).reshape(-1)]
    if len(track_ids) != num_boxes:
        raise ValueError(
            f'got {len(track_ids)} track ids for {num_boxes} boxes.')

    for box, track_id in zip(bev_corners, track_ids):
        color = track_color(track_id)
        pixels = _draw_oriented_box(canvas, grid, box, color, thickness)
        if label_ids and track_id >= 0:
            cv2.putText(canvas, str(track_id),
                        (int(pixels[:, 0].max()) + 2, int(pixels[:, 1].min())),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.35, color, 1, cv2.LINE_AA)
    return canvas


def draw_track_histories(canvas: np.ndarray,
                         grid: BEVGrid,
                         histories: Mapping[int, np.ndarray],
                         thickness: int = 1) -> np.ndarray:
    """Draw each track's past centres as a polyline in the track's colour.

    Args:
        canvas (np.ndarray): Panel (H_px, W_px, 3) uint8, changed in place.
        grid (BEVGrid): Grid of the panel.
        histories (Mapping[int, np.ndarray]): Track id -> (K, 2) centres x, y
            in metres in the current LiDAR frame, oldest first. Tracks with
            fewer than two centres are skipped.
        thickness (int): Line width in pixels. Defaults to 1.

    Returns:
        np.ndarray: ``canvas``.
    """
    for track_id, centers in histories.items():
        centers = np.asarray(centers, dtype=np.float64).reshape(-1, 2)
        if len(centers) < 2:
            continue
        color = track_color(track_id)
        pixels = _fixed_point(grid.to_pixels(centers))
        cv2.polylines(canvas, [pixels], False, color, thickness, cv2.LINE_AA,
                      _SHIFT)
        for point in pixels[:-1]:
            cv2.circle(canvas, tuple(point), 2 * _SUBPIXEL, color, -1,
                       cv2.LINE_AA, _SHIFT)
    return canvas


def draw_ego(canvas: np.ndarray,
             grid: BEVGrid,
             lidar2ego: Optional[np.ndarray] = None,
             length: float = 4.0,
             width: float = 1.8) -> np.ndarray:
    """Draw the ego vehicle at the LiDAR origin.

    Args:
        canvas (np.ndarray): Panel (H_px, W_px, 3) uint8, changed in place.
        grid (BEVGrid): Grid of the panel.
        lidar2ego (np.ndarray, optional): 4x4 LiDAR-to-ego transform. When
            given, the ego vehicle is drawn as a box along the ego x axis
            (forward) with a heading tick; otherwise as a dot.
        length (float): Vehicle length in metres. Defaults to 4.0.
        width (float): Vehicle width in metres. Defaults to 1.8.

    Returns:
        np.ndarray: ``canvas``.
    """
    origin = grid.to_pixels(np.zeros(2))
    if lidar2ego is None:
        cv2.circle(canvas, tuple(_fixed_point(origin)), 4 * _SUBPIXEL,
                   EGO_COLOR, -1, cv2.LINE_AA, _SHIFT)
        return canvas
    ego2lidar = np.linalg.inv(np.asarray(lidar2ego, dtype=np.float64))
    forward = ego2lidar[:2, :3] @ np.array([1.0, 0.0, 0.0])
    forward /= max(np.linalg.norm(forward), 1e-9)
    left = np.array([-forward[1], forward[0]])
    half_l, half_w = 0.5 * length * forward, 0.5 * width * left
    corners = np.stack([-half_l - half_w, -half_l + half_w,
                        half_l + half_w, half_l - half_w])
    _draw_oriented_box(canvas, grid, corners, EGO_COLOR, 2)
    return canvas


def add_panel_frame(canvas: np.ndarray,
                    grid: BEVGrid,
                    title: str,
                    legend: Optional[Dict[str, Color]] = None) -> np.ndarray:
    """Put a title, axis labels and a legend around a panel.

    Args:
        canvas (np.ndarray): Panel (H_px, W_px, 3) uint8.
        grid (BEVGrid): Grid of the panel, for the axis extents.
        title (str): Title above the panel.
        legend (dict[str, tuple], optional): Name -> RGB colour, written
            under the panel.

    Returns:
        np.ndarray: A new, larger RGB uint8 image.
    """
    top, bottom, left, right = 30, 44, 44, 12
    height, width = canvas.shape[:2]
    framed = np.empty((height + top + bottom, width + left + right, 3),
                      dtype=np.uint8)
    framed[:] = 255
    framed[top:top + height, left:left + width] = canvas
    cv2.rectangle(framed, (left - 1, top - 1), (left + width, top + height),
                  TEXT_COLOR, 1)
    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.putText(framed, title, (left, 20), font, 0.55, TEXT_COLOR, 1,
                cv2.LINE_AA)

    x_min, y_min, _, x_max, y_max, _ = grid.point_cloud_range
    small = 0.38
    cv2.putText(framed, f'{x_min:g}', (left, top + height + 14), font, small,
                TEXT_COLOR, 1, cv2.LINE_AA)
    x_max_text = f'{x_max:g}'
    (text_w, _), _ = cv2.getTextSize(x_max_text, font, small, 1)
    cv2.putText(framed, x_max_text, (left + width - text_w, top + height + 14),
                font, small, TEXT_COLOR, 1, cv2.LINE_AA)
    cv2.putText(framed, 'x [m] ->', (left + width // 2 - 28, top + height + 14),
                font, small, TEXT_COLOR, 1, cv2.LINE_AA)
    cv2.putText(framed, f'{y_max:g}', (2, top + 10), font, small, TEXT_COLOR,
                1, cv2.LINE_AA)
    cv2.putText(framed, f'{y_min:g}', (2, top + height), font, small,
                TEXT_COLOR, 1, cv2.LINE_AA)
    cv2.putText(framed, 'y [m]', (2, top + height // 2), font, small,
                TEXT_COLOR, 1, cv2.LINE_AA)
    cv2.putText(framed, '^', (14, top + height // 2 - 14), font, small,
                TEXT_COLOR, 1, cv2.LINE_AA)

    if legend:
        x = left
        for name, color in legend.items():
            cv2.rectangle(framed, (x, top + height + 24), (x + 10, top + height + 34),
                          color, -1)
            cv2.putText(framed, name, (x + 13, top + height + 34), font, small,
                        TEXT_COLOR, 1, cv2.LINE_AA)
            (text_w, _), _ = cv2.getTextSize(name, font, small, 1)
            x += text_w + 24
    return framed


def render_bev_panel(grid: BEVGrid,
                     map_masks: Optional[np.ndarray] = None,
                     box_corners: Optional[np.ndarray] = None,
                     track_ids: Optional[Sequence[int]] = None,
                     histories: Optional[Mapping[int, np.ndarray]] = None,
                     class_names: Sequence[str] = DEFAULT_MAP_CLASSES,
                     lidar2ego: Optional[np.ndarray] = None,
                     alpha: float = 0.6,
                     title: Optional[str] = None) -> np.ndarray:
    """Render one BEV panel: map masks, track histories, boxes and the ego vehicle.

    Args:
        grid (BEVGrid): BEV grid and panel scale.
        map_masks (np.ndarray, optional): (C, bev_h, bev_w) bool masks.
        box_corners (np.ndarray, optional): (N, 8, 3) box corners in the
            LiDAR frame, metres (``LiDARInstance3DBoxes.corners``).
        track_ids (Sequence[int], optional): (N,) track ids of the boxes.
        histories (Mapping[int, np.ndarray], optional): Track id -> (K, 2)
            past centres in the current LiDAR frame, oldest first.
        class_names (Sequence[str]): Map class of each mask channel.
        lidar2ego (np.ndarray, optional): 4x4 transform that orients the
            ego vehicle.
        alpha (float): Opacity of the map colours. Defaults to 0.6.
        title (str, optional): With a title the panel gets a frame with the
            title, axis labels and a map legend (see :func:`add_panel_frame`).

    Returns:
        np.ndarray: RGB uint8 image. Without a title it is exactly
        ``grid.image_shape`` and pixel positions follow :meth:`BEVGrid.to_pixels`.
    """
    canvas = new_canvas(grid)
    if map_masks is not None:
        draw_map_masks(canvas, grid, map_masks, class_names, alpha)
    if histories:
        draw_track_histories(canvas, grid, histories)
    draw_ego(canvas, grid, lidar2ego)
    if box_corners is not None and len(box_corners):
        draw_boxes(canvas, grid, box_bev_corners(box_corners), track_ids)
    if title is None:
        return canvas
    legend = map_class_colors(class_names) if map_masks is not None else None
    return add_panel_frame(canvas, grid, title, legend)
