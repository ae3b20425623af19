"""Tests of the BEV panel: grid placement, map colours, boxes and histories."""
import numpy as np
import pytest
import torch
from mmdet3d.structures import LiDARInstance3DBoxes

from nexusflow.visualization import (BEVGrid, box_bev_corners, draw_boxes,
                                     draw_map_masks, draw_track_histories,
                                     map_class_colors, render_bev_panel,
                                     track_color)
from nexusflow.visualization.bev_drawing import new_canvas
from nexusflow.visualization.colors import BACKGROUND_COLOR

PC_RANGE = [-10.0, -20.0, -5.0, 30.0, 20.0, 3.0]  # 40 m x 40 m


def has_color_near(canvas, grid, xy, color, tolerance=40):
    """Whether a pixel within 1 px of the point ``xy`` (metres) has ``color``."""
    u, v = grid.to_pixels(np.asarray(xy, dtype=float))
    patch = canvas[int(v) - 1:int(v) + 2, int(u) - 1:int(u) + 2].astype(int)
    return bool((np.abs(patch - np.array(color)).max(axis=-1) <= tolerance).any())


def make_grid(cell_px=4):
    # 20 rows x 40 columns: dx = 1 m, dy = 2 m.
    return BEVGrid(tuple(PC_RANGE), bev_h=20, bev_w=40, cell_px=cell_px)


def test_grid_from_config_scales_cells():
    grid = BEVGrid.from_config(PC_RANGE, 20, 40, panel_size=160)
    assert grid.cell_px == 4
    assert grid.image_shape == (80, 160)


def test_grid_rejects_bad_range():
    with pytest.raises(ValueError, match='point_cloud_range'):
        BEVGrid.from_config([0, 0, 0, -1, 1, 1], 10, 10)
    with pytest.raises(ValueError, match='6 values'):
        BEVGrid.from_config([0, 0, 1, 1], 10, 10)


def test_grid_cell_centre_maps_to_its_pixel():
    grid = make_grid()
    dx, dy = 1.0, 2.0
    for i, j in [(0, 0), (5, 7), (19, 39)]:
        x = PC_RANGE[0] + (j + 0.5) * dx
        y = PC_RANGE[1] + (i + 0.5) * dy
        u, v = grid.to_pixels(np.array([x, y]))
        row, col = grid.cell_center_pixel(i, j)
        assert int(np.floor(v)) == row
        assert int(np.floor(u)) == col
    # +y points up: the row of cell i = 0 (y_min) is the bottom of the image.
    assert grid.cell_center_pixel(0, 0)[0] > grid.cell_center_pixel(19, 0)[0]


def test_map_mask_cell_has_class_colour():
    grid = make_grid()
    classes = ('divider', 'ped_crossing', 'contour', 'drivable')
    masks = np.zeros((4, 20, 40), dtype=bool)
    masks[1, 3, 10] = True  # ped_crossing only
    masks[3, 12, 30] = True  # drivable only
    canvas = new_canvas(grid)
    draw_map_masks(canvas, grid, masks, classes, alpha=1.0)

    colors = map_class_colors(classes)
    row, col = grid.cell_center_pixel(3, 10)
    assert tuple(canvas[row, col]) == colors['ped_crossing']
    row, col = grid.cell_center_pixel(12, 30)
    assert tuple(canvas[row, col]) == colors['drivable']
    row, col = grid.cell_center_pixel(0, 0)
    assert tuple(canvas[row, col]) == BACKGROUND_COLOR


def test_map_mask_blends_top_class_last():
    grid = make_grid(cell_px=1)
    classes = ('divider', 'ped_crossing', 'contour', 'drivable')
    masks = np.zeros((4, 20, 40), dtype=bool)
    masks[0, 5, 5] = True
    masks[3, 5, 5] = True
    canvas = new_canvas(grid)
    draw_map_masks(canvas, grid, masks, classes, alpha=0.5)
    colors = map_class_colors(classes)
    under = 0.5 * np.array(BACKGROUND_COLOR) + 0.5 * np.array(colors['drivable'])
    expected = 0.5 * np.round(under) + 0.5 * np.array(colors['divider'])
    row, col = grid.cell_center_pixel(5, 5)
    np.testing.assert_allclose(canvas[row, col], np.round(expected), atol=1)


def test_map_masks_reject_wrong_shape():
    grid = make_grid()
    canvas = new_canvas(grid)
    with pytest.raises(ValueError, match='bev_h x bev_w'):
        draw_map_masks(canvas, grid, np.zeros((4, 40, 20), bool))
    with pytest.raises(ValueError, match='channels'):
        draw_map_masks(canvas, grid, np.zeros((3, 20, 40), bool))


def test_box_colours_expected_region():
    grid = make_grid(cell_px=8)
    # A 6 m x 6 m box centred at (10, 0) with a 0 yaw.
    boxes = LiDARInstance3DBoxes(torch.tensor([[10.0, 0.0, -1.0, 6.0, 6.0, 1.5, 0.0, 0.0, 0.0]]),
                                 box_dim=9)
    corners = box_bev_corners(boxes.corners.numpy())
    canvas = new_canvas(grid)
    draw_boxes(canvas, grid, corners, track_ids=[7], thickness=2)
    color = np.array(track_color(7))

    # The back and side edges run along x = 7 m and y = +-3 m.
    assert has_color_near(canvas, grid, [7.0, 0.0], color)
    assert has_color_near(canvas, grid, [10.0, 3.0], color)
    assert has_color_near(canvas, grid, [10.0, -3.0], color)
    # Inside the box, away from the heading tick, stays background.
    u_in, v_in = grid.to_pixels(np.array([8.5, 2.0]))
    assert tuple(canvas[int(v_in), int(u_in)]) == BACKGROUND_COLOR
    # The heading tick points to +x: a pixel beyond the front edge is coloured.
    assert has_color_near(canvas, grid, [14.0, 0.0], color)
    # Far from the box nothing is drawn.
    u_far, v_far = grid.to_pixels(np.array([-5.0, 15.0]))
    assert tuple(canvas[int(v_far), int(u_far)]) == BACKGROUND_COLOR


def test_box_heading_follows_yaw():
    grid = make_grid(cell_px=16)
    # Yaw pi/2 turns the front toward +y.
    boxes = LiDARInstance3DBoxes(torch.tensor([[10.0, 0.0, -1.0, 4.0, 2.0, 1.5, np.pi / 2, 0, 0]]),
                                 box_dim=9)
    canvas = new_canvas(grid)
    draw_boxes(canvas, grid, box_bev_corners(boxes.corners.numpy()), [3])
    color = np.array(track_color(3))
    assert has_color_near(canvas, grid, [10.0, 2.7], color)
    assert not has_color_near(canvas, grid, [10.0, -2.7], color)


def test_track_colour_stable_and_distinct():
    assert track_color(5) == track_color(5)
    assert len({track_color(i) for i in range(20)}) == 20
    assert track_color(-1) == track_color(-7)


def test_history_polyline_drawn():
    grid = make_grid(cell_px=8)
    canvas = new_canvas(grid)
    draw_track_histories(canvas, grid, {4: np.array([[0.0, -10.0], [0.0, 10.0]])}, thickness=2)
    color = np.array(track_color(4))
    assert has_color_near(canvas, grid, [0.0, 0.0], color)
    # A one-point history has no line.
    canvas = new_canvas(grid)
    draw_track_histories(canvas, grid, {4: np.array([[0.0, 0.0]])})
    assert (canvas == np.array(BACKGROUND_COLOR, np.uint8)).all()


def test_render_panel_with_title_adds_frame():
    grid = make_grid()
    masks = np.zeros((4, 20, 40), dtype=bool)
    masks[3] = True
    bare = render_bev_panel(grid, map_masks=masks)
    assert bare.shape == grid.image_shape + (3,)
    framed = render_bev_panel(grid, map_masks=masks, title='ground truth')
    assert framed.shape[0] > bare.shape[0]
    assert framed.shape[1] > bare.shape[1]
    assert framed.std() > 10
