from .bev_drawing import (DEFAULT_MAP_CLASSES, BEVGrid,  # noqa: F401
                          box_bev_corners, draw_boxes, draw_map_masks,
                          draw_track_histories, render_bev_panel)
from .camera_drawing import (MOSAIC_CAMERA_ORDER,  # noqa: F401
                             draw_boxes_on_image, project_points, tile_cameras)
from .colors import map_class_colors, track_color  # noqa: F401
from .latent_plots import latent_figure, separation_score  # noqa: F401
from .sample_figure import (SampleRenderer, TrackHistory,  # noqa: F401
                            boxes_from_instances, save_png, write_video)
from .vis_hook import BEVVisualizationHook  # noqa: F401
